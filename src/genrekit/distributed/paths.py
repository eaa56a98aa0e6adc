"""Where the workers see the client's files, and which worker is running a task.

Light on purpose: the per-file code of local runs calls these too, and must
not import Dask (close to a second of start-up) to learn it is not on a worker.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from genrekit.errors import AudioNotFoundError, ConfigError, GenrekitError, UnreadableAudioError


@dataclass(frozen=True)
class PathMap:
    """Where the workers see the client's files: ``client_prefix`` on the client is ``worker_prefix`` there."""

    client_prefix: str
    worker_prefix: str

    @classmethod
    def parse(cls, text: str) -> "PathMap":
        """``"/client/music=/mnt/music"`` -> ``PathMap("/client/music", "/mnt/music")``."""
        client, sep, worker = text.partition("=")
        if not sep or not client or not worker:
            raise ConfigError(f"a path map is CLIENT_PREFIX=WORKER_PREFIX, got {text!r}")
        return cls(client, worker)

    def to_worker(self, path: str | os.PathLike[str]) -> str:
        """``path`` as a worker sees it; paths outside ``client_prefix`` are unchanged."""
        text = os.fspath(path)
        base = self.client_prefix.rstrip("/") or "/"
        if text == base or text.startswith(base.rstrip("/") + "/"):
            return self.worker_prefix.rstrip("/") + text[len(base.rstrip("/")):]
        return text


def worker_path(path: str | os.PathLike[str], path_map: PathMap | None) -> str:
    """``path`` under ``path_map`` (or as it is, without one)."""
    return os.fspath(path) if path_map is None else path_map.to_worker(path)


def worker_address() -> str | None:
    """The address of the Dask worker running the caller, or ``None`` outside one (a local run)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:  # never imported, so this is no Dask worker
        return None
    try:
        return str(distributed.get_worker().address)
    except ValueError:  # not in a worker
        return None


def where_it_failed(error: GenrekitError, path: str | os.PathLike[str], seen_as: str) -> GenrekitError:
    """``error`` for the client's ``path``; a file a Dask worker could not open also names the worker.

    The shared-storage assumption fails file by file (a mount missing on one
    node), so the report says which worker looked, and under which name.
    """
    address = worker_address()
    if address is None or not isinstance(error, (AudioNotFoundError, UnreadableAudioError)):
        return error
    where = f"on Dask worker {address}" + (f", as {seen_as}" if seen_as != os.fspath(path) else "")
    detail = f"{error.detail}; {where}" if error.detail else where
    return type(error)(path, detail)
