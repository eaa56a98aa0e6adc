"""Scanning a music library into the database: every audio file's genre, computed once.

A scan first checks each file against its row, from the cheapest test to the
dearest, and classifies only what is left:

1. *unchanged*: the row's stat signature (size, mtime, ctime, inode, device:
   ``store.FileSignature.stat_part``) and model match: not read at all. One
   ``stat`` per file keeps a rescan of a large library quick; ctime, which
   no user-level call can set back, catches a rewrite that restored mtime.
2. *rehashed*: the signature changed but the content hash
   (``store.file_hash``) did not (a ``touch``, a copy back): the row is kept.
3. *moved* or *copied*: another row holds a result for this content and
   model; a row whose file is gone moves to the new name, else the result is
   copied (a duplicate). Neither is decoded.
4. *classified*: everything else goes through ``batch.classify_files`` (``-j``
   workers, failures isolated per file, results in input order).

Every result is committed as it arrives, so a scan killed at any moment
keeps what it finished and a rerun resumes. A file that failed is tried
again only when it changes, the model changes, or genrekit's version
changes (a newer decoder may read it). Rows of files that are no longer
under a scanned folder are deleted (the database describes the library as it
is; ``tag --undo`` keeps its own journal, so nothing reversible is lost).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from genrekit import __version__
from genrekit.audio import find_audio_files, probe
from genrekit.batch import classify_files
from genrekit.errors import GenrekitError, as_input_error
from genrekit.fileio import path_text, sha256_file
from genrekit.library.db import FileRow, LibraryDB, path_bytes
from genrekit.predict import GenreClassifier, Prediction, load_model
from genrekit.store import FileSignature, file_hash

if TYPE_CHECKING:
    from distributed import Client

    from genrekit.distributed import PathMap

STATUSES = ("unchanged", "rehashed", "moved", "copied", "classified", "failed")


def model_sha256(classifier: GenreClassifier) -> str:
    """The sha256 of the model's file: what a row and a tag's provenance name the model by."""
    return sha256_file(classifier.bundle.path)


@dataclass
class ScanSummary:
    """What a scan did: files per status, genres over the library's classified files, and each failure."""

    files: int = 0
    counts: Counter = field(default_factory=Counter)
    genres: Counter = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, error)
    removed: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"files": self.files, **{s: self.counts[s] for s in STATUSES}, "removed": self.removed,
                "genres": dict(self.genres.most_common()),
                "failures": [{"path": p, "error": e} for p, e in self.failures]}


Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: phase is ``"checking"`` or ``"classifying"``."""


def _absolute(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(os.fspath(path)))


def _failed_row(path: Path, error: BaseException, signature: tuple, model: str, now: float) -> FileRow:
    return FileRow(path_text(path), path_bytes(path), *signature, hash=None, duration=None, genre=None,
                   confidence=None, probabilities=None, model=model, error=str(as_input_error(path, error)),
                   genrekit_version=__version__, classified_at=now, scanned_at=now)


def _result_row(path: Path, result: Prediction, signature: tuple, digest: str, model: str, now: float) -> FileRow:
    try:
        duration = probe(path).duration
    except GenrekitError:
        duration = -1.0
    probabilities = dict(sorted(result.probabilities.items(), key=lambda item: -item[1]))
    return FileRow(path_text(path), path_bytes(path), *signature, hash=digest,
                   duration=duration if duration >= 0 else None, genre=result.genre, confidence=result.confidence,
                   probabilities=json.dumps(probabilities), model=model, error=None, genrekit_version=__version__,
                   classified_at=now, scanned_at=now)


def _is_current(row: FileRow | None, signature: tuple, model: str) -> bool:
    """Whether ``row`` may be trusted without reading the file (step 1 of the module docstring)."""
    if row is None or row.model != model or row.signature != signature:
        return False
    return row.error is None or row.genrekit_version == __version__


def _under(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def scan_library(
    roots: Iterable[str | os.PathLike[str]],
    db: LibraryDB,
    model: str | os.PathLike[str] | GenreClassifier | None = None,
    *,
    jobs: int = 1,
    progress: Progress | None = None,
    client: "Client | None" = None,
    path_map: "PathMap | None" = None,
) -> ScanSummary:
    """Bring ``db`` up to date with the audio files under ``roots`` (files or folders, searched recursively).

    ``model`` is a ``.genre`` file (default: the bundled model) or a loaded
    classifier; a bad model file raises :class:`~genrekit.errors.ModelFileError`
    before anything is written. Files that fail are recorded with their error
    and listed in the summary; the others are unaffected. With a Dask
    ``client`` the files are classified on its workers (``path_map``: where
    they see them); this process still does every write, in the same order.
    """
    roots = [_absolute(r) for r in roots]
    files = [_absolute(f) for f in find_audio_files(roots)]
    classifier = model if isinstance(model, GenreClassifier) else load_model(model)
    model_hash = model_sha256(classifier)
    summary = ScanSummary(files=len(files))
    report = progress or (lambda phase, done, total: None)
    pending: list[tuple[Path, tuple, str]] = []
    done = 0

    def finished(status: str, row: FileRow) -> None:
        nonlocal done
        done += 1
        summary.counts[status] += 1
        if row.error is not None:
            summary.failures.append((row.path, row.error))
        elif row.genre is not None:
            summary.genres[row.genre] += 1
        report("checking" if status != "classified" else "classifying", done, len(files))

    for path in files:
        now = time.time()
        try:
            signature = FileSignature.stat_part(os.stat(path))
        except OSError as error:
            signature = (None,) * 5
            row = _failed_row(path, error, signature, model_hash, now)
            db.put(row)
            finished("failed", row)
            continue
        row = db.get(path)
        if _is_current(row, signature, model_hash):
            finished("failed" if row.error else "unchanged", row)
            continue
        try:
            digest = file_hash(path)
        except OSError as error:
            failed = _failed_row(path, error, signature, model_hash, now)
            db.put(failed)
            finished("failed", failed)
            continue
        if row is not None and row.hash == digest and row.model == model_hash and row.error is None:
            row = replace(row, size=signature[0], mtime_ns=signature[1], ctime_ns=signature[2], inode=signature[3],
                          device=signature[4], scanned_at=now)
            db.put(row)
            finished("rehashed", row)
            continue
        twins = [r for r in db.by_hash(digest, model_hash) if r.path != path_text(path)]
        gone = next((r for r in twins if not os.path.lexists(r.file)), None)
        source = gone or (twins[0] if twins else None)
        if source is not None:
            moved = replace(source, path=path_text(path), path_bytes=path_bytes(path), size=signature[0],
                            mtime_ns=signature[1], ctime_ns=signature[2], inode=signature[3], device=signature[4],
                            scanned_at=now)
            if gone is not None:
                db.move(gone.path, moved)
            else:
                db.put(moved)
            finished("moved" if gone is not None else "copied", moved)
            continue
        pending.append((path, signature, digest))
        report("checking", done, len(files))

    if pending:
        by_path = {path: (signature, digest) for path, signature, digest in pending}
        results = classify_files([p for p, _, _ in pending], classifier, jobs=jobs, client=client,
                                 path_map=path_map)
        try:
            for path, result in results:
                signature, digest = by_path[path]
                now = time.time()
                if isinstance(result, GenrekitError):
                    row = _failed_row(path, result, signature, model_hash, now)
                    row = replace(row, hash=digest)
                    db.put(row)
                    finished("failed", row)
                else:
                    row = _result_row(path, result, signature, digest, model_hash, now)
                    db.put(row)
                    finished("classified", row)
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()  # Ctrl-C or an error here shuts the workers down at once

    found = {path_text(f) for f in files}
    root_texts = [path_text(r) for r in roots if r.is_dir()]
    stale = [p for p in db.paths() if p not in found and _under(p, root_texts)]
    if stale:
        db.delete(stale)
    summary.removed = len(stale)
    return summary


__all__ = ["STATUSES", "ScanSummary", "model_sha256", "scan_library"]
