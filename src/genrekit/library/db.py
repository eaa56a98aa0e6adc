"""The library database: one SQLite file holding every scanned file's result and the tag journal.

SQLite runs in WAL mode with ``synchronous=NORMAL``: each committed result
survives the scanning process being killed (SIGINT or SIGKILL) at any
moment, a reader (``--export``, ``tag``) never blocks the writer, and a commit
costs no fsync. The schema is versioned with ``PRAGMA user_version`` and
brought up to date by :data:`MIGRATIONS`, applied in order, each in its own
transaction, so a database written by an older genrekit opens unchanged.

Paths are stored twice: ``path`` is text (:func:`genrekit.fileio.path_text`,
valid UTF-8 whatever the name) and the key; ``path_bytes`` holds the name's
exact bytes, so a file whose name is not UTF-8 can still be found again.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from genrekit.errors import GenrekitError
from genrekit.fileio import path_text

FILE_COLUMNS = (
    "path", "path_bytes", "size", "mtime_ns", "ctime_ns", "inode", "device", "hash", "duration",
    "genre", "confidence", "probabilities", "model", "error", "genrekit_version", "classified_at", "scanned_at",
)
"""The ``files`` table's columns, in order."""

MIGRATIONS: tuple[str, ...] = (
    # 1: files and the tag journal
    """
    CREATE TABLE files (
        path TEXT PRIMARY KEY, path_bytes BLOB NOT NULL,
        size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, inode INTEGER, device INTEGER,
        hash TEXT, duration REAL, genre TEXT, confidence REAL, probabilities TEXT, model TEXT, error TEXT,
        genrekit_version TEXT, classified_at REAL, scanned_at REAL
    );
    CREATE INDEX files_by_hash ON files (hash, model);
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL, path_bytes BLOB NOT NULL, written_at REAL,
        before_hash TEXT, after_hash TEXT, before_size INTEGER, after_size INTEGER, before_mtime_ns INTEGER,
        spans TEXT NOT NULL, old_bytes BLOB NOT NULL, old_genres TEXT, new_genre TEXT, model TEXT,
        undone_at REAL
    );
    """,
)
"""Schema versions: ``MIGRATIONS[i]`` takes a database from version ``i`` to ``i + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)


class LibraryDatabaseError(GenrekitError):
    """The library database cannot be opened, is not genrekit's, or is from a newer genrekit."""


def path_bytes(path: str | os.PathLike[str]) -> bytes:
    """A path's exact bytes on disk (a name that is not UTF-8 included)."""
    return os.fsencode(path)


def path_from_bytes(data: bytes) -> Path:
    return Path(os.fsdecode(bytes(data)))


@dataclass(frozen=True)
class FileRow:
    """One file's row: where it is, the signature its hash belongs to, and its result or error."""

    path: str
    path_bytes: bytes
    size: int | None
    mtime_ns: int | None
    ctime_ns: int | None
    inode: int | None
    device: int | None
    hash: str | None  # genrekit.store.file_hash of the content; None where the file could not be read
    duration: float | None
    genre: str | None
    confidence: float | None
    probabilities: str | None  # JSON object label -> probability, best first
    model: str
    error: str | None
    genrekit_version: str
    classified_at: float
    scanned_at: float

    @property
    def signature(self) -> tuple[int | None, ...]:
        """What a rescan compares with ``os.stat`` (``FileSignature.stat_part``) before it trusts this row."""
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode, self.device)

    @property
    def file(self) -> Path:
        return path_from_bytes(self.path_bytes)

    def probabilities_dict(self) -> dict[str, float]:
        return json.loads(self.probabilities) if self.probabilities else {}

    def as_dict(self) -> dict[str, Any]:
        """The row as the JSON object exports print: the result, or the error of a failed file."""
        out: dict[str, Any] = {"path": self.path, "genre": self.genre, "confidence": self.confidence,
                               "probabilities": self.probabilities_dict(), "duration": self.duration,
                               "hash": self.hash, "size": self.size, "model": self.model,
                               "scanned_at": self.scanned_at}
        if self.error is not None:
            out["error"] = self.error
        return out


class LibraryDB:
    """The open database. Every write method commits before it returns (one transaction per result)."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise LibraryDatabaseError(f"{self.path}: library database not found (run `genrekit scan` first)")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.con = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise LibraryDatabaseError(f"{self.path}: not a usable SQLite database ({error})") from None

    def _migrate(self) -> None:
        version = self.con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise LibraryDatabaseError(f"{self.path}: written by a newer genrekit (schema {version}, "
                                       f"this genrekit reads up to {SCHEMA_VERSION})")
        if version == 0 and self.con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise LibraryDatabaseError(f"{self.path}: an SQLite database, but not a genrekit library")
        for number in range(version, SCHEMA_VERSION):
            self.con.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        self.con.execute(statement)
                self.con.execute(f"PRAGMA user_version = {number + 1}")
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "LibraryDB":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- files

    def get(self, path: str | os.PathLike[str]) -> FileRow | None:
        row = self.con.execute(f"SELECT {', '.join(FILE_COLUMNS)} FROM files WHERE path = ?",
                               (path_text(path),)).fetchone()
        return FileRow(*row) if row else None

    def by_hash(self, digest: str, model: str) -> list[FileRow]:
        """Rows of successfully classified files with this content and model (a moved file's old row among them)."""
        rows = self.con.execute(f"SELECT {', '.join(FILE_COLUMNS)} FROM files WHERE hash = ? AND model = ? "
                                "AND error IS NULL ORDER BY path", (digest, model)).fetchall()
        return [FileRow(*row) for row in rows]

    def put(self, row: FileRow) -> None:
        marks = ", ".join("?" * len(FILE_COLUMNS))
        self.con.execute(f"INSERT OR REPLACE INTO files ({', '.join(FILE_COLUMNS)}) VALUES ({marks})",
                         tuple(getattr(row, c) for c in FILE_COLUMNS))

    def move(self, old: str, row: FileRow) -> None:
        """``old``'s row now describes ``row.path`` (a renamed file): one transaction."""
        self.con.execute("BEGIN IMMEDIATE")
        try:
            self.con.execute("DELETE FROM files WHERE path = ?", (old,))
            self.put(row)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def delete(self, paths: list[str]) -> None:
        self.con.execute("BEGIN IMMEDIATE")
        try:
            self.con.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in paths])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def rows(self) -> Iterator[FileRow]:
        """Every file's row, by path; read a row at a time."""
        cursor = self.con.execute(f"SELECT {', '.join(FILE_COLUMNS)} FROM files ORDER BY path")
        for row in cursor:
            yield FileRow(*row)

    def paths(self) -> list[str]:
        return [p for (p,) in self.con.execute("SELECT path FROM files ORDER BY path")]

    def count(self) -> int:
        return self.con.execute("SELECT count(*) FROM files").fetchone()[0]


__all__ = ["FILE_COLUMNS", "FileRow", "LibraryDB", "LibraryDatabaseError", "MIGRATIONS", "SCHEMA_VERSION",
           "path_bytes", "path_from_bytes"]
