"""Spool an uploaded file to a private temporary folder, counting bytes, refusing it past the limit.

The request body itself is bounded before this runs (the routes'
``max_body_size``: Content-Length checked first, then the streamed bytes),
so this copy only enforces the exact per-file limit. The client's file name
is hostile text: it is kept as data for the answer, and only its extension,
sanitised, reaches the disk, so the decoder's format sniffing and name
checks see what they would see for a local file.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, Callable

from genrekit.serve.errors import ApiError

if TYPE_CHECKING:
    from fastapi import UploadFile

CHUNK_BYTES = 1024 * 1024
MAX_NAME_CHARS = 1024
"""Longest upload name echoed back; a longer one is cut (it is only ever data)."""
MULTIPART_SLACK_BYTES = 64 * 1024
"""What a request body may hold beyond the file itself: the multipart envelope and the small form fields."""

_SAFE_SUFFIX = re.compile(r"\.[a-z0-9]{1,10}")


def safe_suffix(filename: str) -> str:
    """The lower-cased extension of ``filename`` if it is plain (``.mp3``), else ``""``: never a path part."""
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    return suffix if _SAFE_SUFFIX.fullmatch(suffix) else ""


def display_name(filename: str | None) -> str:
    """The client's file name as JSON-safe text: lone surrogates replaced, cut to :data:`MAX_NAME_CHARS`."""
    text = (filename or "upload").encode("utf-8", "replace").decode("utf-8")
    return text[:MAX_NAME_CHARS]


def body_limit(limit_bytes: int) -> int:
    """The request-body limit for an upload of at most ``limit_bytes``."""
    return limit_bytes + MULTIPART_SLACK_BYTES


@dataclass
class SpooledUpload:
    """An upload on disk under a name genrekit chose; :meth:`discard` deletes it and its folder."""

    path: Path
    name: str
    size: int

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def spool_file(source: IO[bytes], filename: str | None, limit_bytes: int, *, what: str = "upload",
               folder: str | Path | None = None) -> SpooledUpload:
    """Copy ``source`` into a fresh private folder, refusing with 413 ``too_large`` once past ``limit_bytes``.

    Blocking: call it off the event loop. Nothing is left behind on refusal.
    """
    private = Path(tempfile.mkdtemp(prefix="genrekit-upload-", dir=folder))
    path = private / f"{what}{safe_suffix(filename or '')}"
    size = 0
    try:
        with open(path, "wb") as out:
            while chunk := source.read(CHUNK_BYTES):
                size += len(chunk)
                if size > limit_bytes:
                    raise ApiError(413, "too_large", f"the {what} is larger than this server accepts "
                                                     f"({limit_bytes / 1024**2:g} MB)")
                out.write(chunk)
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)
        raise
    return SpooledUpload(path=path, name=display_name(filename), size=size)


async def spool(upload: "UploadFile", limit_bytes: int, *, what: str = "upload") -> SpooledUpload:
    """:func:`spool_file` of a FastAPI upload, off the event loop."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(spool_file, upload.file, upload.filename, limit_bytes, what=what)


class UploadGate:
    """Refuse an upload before a byte of its body is read: too large by its Content-Length (413), or no room (503).

    Starlette's own body limit (each upload route's ``max_body_size``) counts
    the bytes of a body that declares no length, or lies about it, and the
    worker queue has the final say on admission; this answers the common
    cases at once, in the contract's JSON, without spending time receiving
    and parsing a body that will be refused.
    """

    def __init__(self, app: Any, limits: dict[str, int], queued: tuple[str, ...], full: Callable[[], bool],
                 on_refusal: Callable[[str], None]) -> None:
        self.app = app
        self.limits = limits  # request path -> largest body it accepts, bytes
        self.queued = queued  # the paths whose work goes to the worker queue
        self.full = full  # whether the worker queue would refuse a job now
        self.on_refusal = on_refusal

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        limit = self.limits.get(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        from genrekit.serve.errors import error_response

        declared = _content_length(scope)
        if declared is not None and declared > limit:
            code, response = "too_large", error_response(
                413, "too_large", f"the upload ({declared / 1024**2:.3g} MB) is larger than this server accepts "
                                  f"({(limit - MULTIPART_SLACK_BYTES) / 1024**2:g} MB)")
        elif scope["path"] in self.queued and self.full():
            code, response = "busy", error_response(503, "busy", "the server is busy (every worker analysing, "
                                                                 "the queue full): try again shortly")
            if await _drained(receive, limit):  # read and dropped, not parsed or stored: the client gets its 503
                self.on_refusal(code)          # instead of a connection reset mid-upload, and may keep the connection
                await response(scope, receive, send)
                return
        else:
            await self.app(scope, receive, send)
            return
        self.on_refusal(code)
        response.headers["connection"] = "close"  # the unread body must not be taken for the next request
        await response(scope, receive, send)


async def _drained(receive: Callable[..., Any], limit: int) -> bool:
    """Read a request body to its end, keeping none of it; False if it passes ``limit`` bytes first."""
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return False
        seen += len(message.get("body", b""))
        if seen > limit:
            return False
        if not message.get("more_body", False):
            return True


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
