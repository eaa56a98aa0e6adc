"""Writing output files atomically, with the permissions a new file normally gets.

Every file genrekit writes (feature tables, cache entries, model files,
checkpoints, converted weights, manifests) goes through :func:`atomic_write`:
the bytes are written to a temporary sibling of the target, which is then
renamed over it with :func:`os.replace`. A reader, or a rerun after a crash or
a SIGKILL, sees either the old file or the complete new one, never half of a
file under the final name; and if writing fails (an exception, Ctrl-C) the
temporary file is removed again and the target is left as it was.

The temporary file is created with ``os.open(..., O_CREAT | O_EXCL, 0o666)``,
so the kernel gives it exactly the mode any new file gets, ``0o666 & ~umask``
(and honours a folder's default ACL), as ``open(path, "w")`` would.
:func:`tempfile.mkstemp` is not used: its files are always ``0o600``, which
made every output private to its owner whatever the umask said.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sys
import threading
from pathlib import Path
from typing import BinaryIO, Callable

_UMASK_LOCK = threading.Lock()


def path_text(path: str | os.PathLike[str]) -> str:
    """A path as valid UTF-8 text, for Parquet columns and SQLite keys, which cannot hold anything else.

    A name that is not UTF-8 reaches Python with surrogate escapes; its
    undecodable bytes are written ``\\xNN`` here (the name stays readable,
    and the same path always gives the same text). Other paths are unchanged.
    """
    text = os.fspath(path)
    if isinstance(text, bytes):
        return text.decode("utf-8", "backslashreplace")
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape" if _only_byte_escapes(text) else "backslashreplace").decode(
            "utf-8", "backslashreplace")


def _only_byte_escapes(text: str) -> bool:
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows.

    On Linux it comes from ``/proc/self/status`` (``Umask:``, kernel 4.7+);
    elsewhere ``os.umask`` is set and put back at once, under a lock (another
    thread creating a file in that instant could be given mode ``0o666``).
    """
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/status", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("Umask:"):
                        return int(line.split()[1], 8)
        except (OSError, ValueError, IndexError):
            pass
    with _UMASK_LOCK:
        old = os.umask(0o022)
        os.umask(old)
    return old


def new_file_mode() -> int:
    """``0o666 & ~umask``: the permission bits of a newly created regular file."""
    return 0o666 & ~current_umask()


def _open_temporary(target: Path) -> tuple[int, Path]:
    """A new, empty sibling of ``target`` opened for writing: ``(fd, path)``."""
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        return fd, tmp
    raise FileExistsError(f"{target}: could not create a temporary file beside it")


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not possible everywhere (Windows); the file itself was synced
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(
    target: str | os.PathLike[str],
    write: Callable[[BinaryIO], None],
    *,
    fsync: bool = False,
    mkdir: bool = True,
) -> Path:
    """Write ``target`` through ``write(fileobj)`` so that it appears complete or not at all.

    ``write`` gets a binary file object (seekable, so zip and Parquet writers
    work) on a temporary file beside ``target``; when it returns, the file is
    closed and renamed over ``target``. On any exception (``KeyboardInterrupt``
    included) the temporary file is removed, ``target`` is untouched and the
    exception propagates. The new file's mode is ``0o666 & ~umask``, whatever
    the mode of the file it replaces.

    Parameters
    ----------
    fsync : flush the file (and then its folder) to disk before and after the
        rename, for files that must survive a power cut, not just a crash.
    mkdir : create the target's parent folders first.

    Returns ``target`` as a :class:`~pathlib.Path`.
    """
    target = Path(target)
    if mkdir:
        target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _open_temporary(target)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if fsync:
        _fsync_folder(target.parent)
    return target


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes, *, fsync: bool = False) -> Path:
    """:func:`atomic_write` of ``data``."""
    return atomic_write(target, lambda f: f.write(data), fsync=fsync)


def atomic_write_text(
    target: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", fsync: bool = False
) -> Path:
    """:func:`atomic_write` of ``text`` encoded with ``encoding``."""
    return atomic_write_bytes(target, text.encode(encoding), fsync=fsync)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, read in 1 MB blocks (memory stays bounded whatever the file's size).

    What genrekit names model and network files by: a library row's model, a
    tag's provenance, a served model's id, a shipped network's manifest entry.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "current_umask", "new_file_mode", "path_text",
           "sha256_file"]
