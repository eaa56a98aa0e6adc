"""Writing genres into files' tags safely, and taking them back out: plan, write, verify, journal, undo.

:func:`plan_tag` decides, per file, what a run would do (a pure function of
the file's current tags and its classification), so a dry run and a real
run agree. :func:`write_planned` carries a plan out without ever leaving a
file half-written or with different audio:

1. copy the file to a temporary sibling (same folder, so the final rename
   is atomic), with the original's permission bits;
2. write the tags on the copy (:func:`tagfiles.write_genre`);
3. check the copy: its audio decodes to exactly the original's samples, at
   the native rate (:func:`same_audio`), and its tags read back as planned;
4. journal the old bytes of the ranges that changed (:mod:`splice`; checked
   to rebuild the original exactly) in the database, committed;
5. ``os.replace`` the copy over the original, after checking the original
   did not change meanwhile.

A file failing any step is left untouched and reported. :func:`undo_writes`
splices the journaled bytes back (newest write first), checks the result
hashes to the file as it was, replaces the file the same way, restores its
modification time, and marks the entry undone.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from genrekit.audio import probe, stream_audio
from genrekit.errors import GenrekitError, TagError, as_input_error
from genrekit.fileio import path_text
from genrekit.library.db import LibraryDB, path_bytes, path_from_bytes
from genrekit.library.splice import Span, content_hash, diff_spans, spliced
from genrekit.library.tagfiles import FileTags, Provenance, read_tags, write_genre
from genrekit.store import FileSignature, file_hash

DEFAULT_SEPARATOR = "; "


@dataclass(frozen=True)
class TagOptions:
    """How a run chooses each file's genre text and which files it leaves alone."""

    top: int = 1
    separator: str = DEFAULT_SEPARATOR
    min_confidence: float = 0.0
    overwrite: bool = False


@dataclass(frozen=True)
class Classified:
    """What tagging needs of a file's classification: its probabilities (best first) and the model's sha256."""

    probabilities: dict[str, float]
    model: str

    @property
    def confidence(self) -> float:
        return next(iter(self.probabilities.values()), 0.0)


@dataclass(frozen=True)
class TagPlan:
    """One file's planned (or done) change. ``action``: write, skip, failed; then written or unchanged."""

    path: Path
    action: str
    old: tuple[str, ...] = ()
    new: str | None = None
    reason: str = ""
    provenance: Provenance | None = None

    def to_dict(self) -> dict[str, object]:
        return {"path": path_text(self.path), "action": self.action, "old": list(self.old), "new": self.new,
                "reason": self.reason}


def genre_text(classified: Classified, options: TagOptions) -> str:
    """The one genre value written: the top ``options.top`` labels joined by ``options.separator``.

    One value rather than a format's multi-values, because many players show
    only the first of several; :attr:`FileTags.genres` splits what a format
    stores separately, not this text.
    """
    return options.separator.join(list(classified.probabilities)[: options.top])


def plan_tag(path: Path, tags: FileTags, classified: Classified, options: TagOptions) -> TagPlan:
    """What a run does to ``path``: keep a person's genre, skip a doubtful verdict, or write the new genre."""
    new = genre_text(classified, options)
    provenance = Provenance(model=classified.model, confidence=round(classified.confidence, 4), genre=new)
    base = TagPlan(path, "skip", tags.genres, new, provenance=provenance)
    if tags.genres and not tags.by_genrekit and not options.overwrite:
        return _with(base, reason="keeps the genre a person entered (--overwrite replaces it)")
    if classified.confidence < options.min_confidence:
        return _with(base, reason=f"confidence {classified.confidence:.2f} is below --min-confidence "
                                  f"{options.min_confidence:.2f}")
    if tags.by_genrekit and tags.provenance == provenance:
        return _with(base, action="unchanged", reason="already tagged so")
    return _with(base, action="write")


def _with(plan: TagPlan, **changes: object) -> TagPlan:
    from dataclasses import replace

    return replace(plan, **changes)


def failed_plan(path: Path, error: BaseException) -> TagPlan:
    return TagPlan(path, "failed", reason=str(as_input_error(path, error)))


# ---------------------------------------------------------------------------- checking a copy


def _blocks(path: Path, sr: int) -> Iterator[np.ndarray]:
    yield from stream_audio(path, sr)


def same_audio(original: Path, copy: Path) -> bool:
    """Whether ``copy`` decodes to exactly ``original``'s samples at its native rate, block by block."""
    info_a, info_b = probe(original), probe(copy)
    if (info_a.sample_rate, info_a.channels, info_a.frames) != (info_b.sample_rate, info_b.channels, info_b.frames):
        return False
    a, b = _blocks(original, info_a.sample_rate), _blocks(copy, info_a.sample_rate)
    left, right = np.empty(0, np.float32), np.empty(0, np.float32)
    while True:
        if not len(left):
            left = next(a, None)
        if not len(right):
            right = next(b, None)
        if left is None or right is None:
            return left is None and right is None
        n = min(len(left), len(right))
        if not np.array_equal(left[:n], right[:n]):
            return False
        left, right = left[n:], right[n:]


def _signature(path: Path) -> tuple[int, ...]:
    return FileSignature.stat_part(os.stat(path))


def _temporary_copy(path: Path, mode: int) -> Path:
    """A copy of ``path`` beside it, with ``mode``; the caller removes it or renames it over ``path``."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".genrekit-tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        shutil.copyfile(path, tmp)
        os.chmod(tmp, mode)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


# ---------------------------------------------------------------------------- writing


def write_planned(plan: TagPlan, db: LibraryDB) -> TagPlan:
    """Carry out a ``write`` plan (steps 1-5 of the module docstring): the plan as ``written`` or ``failed``."""
    path = plan.path
    assert plan.action == "write" and plan.new is not None and plan.provenance is not None
    tmp: Path | None = None
    try:
        st = os.stat(path)
        before = FileSignature.stat_part(st)
        before_hash = file_hash(path)
        tmp = _temporary_copy(path, stat.S_IMODE(st.st_mode))
        write_genre(tmp, plan.new, plan.provenance)
        try:
            audio_kept = same_audio(path, tmp)
        except GenrekitError as error:
            raise TagError(path, f"cannot check that the audio is unchanged ({error}); left as it was") from None
        if not audio_kept:
            raise TagError(path, "writing the tags would have changed the audio; left as it was")
        if read_tags(tmp).genres != (plan.new,):
            raise TagError(path, "the tags did not read back as written; left as it was")
        spans = diff_spans(path, tmp, before_hash)
        after_hash = file_hash(tmp)
        if _signature(path) != before:
            raise TagError(path, "the file changed while its tags were being written; left as it was")
        _journal(db, plan, st, before_hash, after_hash, os.path.getsize(tmp), spans)
        os.replace(tmp, path)
        tmp = None
        _refresh_row(db, path, after_hash)
        return _with(plan, action="written", reason="")
    except Exception as error:
        return _with(plan, action="failed", reason=str(as_input_error(path, error)))
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _journal(db: LibraryDB, plan: TagPlan, st: os.stat_result, before_hash: str, after_hash: str, after_size: int,
             spans: list[Span]) -> None:
    db.con.execute(
        "INSERT INTO journal (path, path_bytes, written_at, before_hash, after_hash, before_size, after_size, "
        "before_mtime_ns, spans, old_bytes, old_genres, new_genre, model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (path_text(plan.path), path_bytes(plan.path), time.time(), before_hash, after_hash, st.st_size, after_size,
         st.st_mtime_ns, json.dumps([[s.new_start, s.new_end, len(s.old)] for s in spans]),
         b"".join(s.old for s in spans), json.dumps(list(plan.old)), plan.new,
         plan.provenance.model if plan.provenance else None))


def _refresh_row(db: LibraryDB, path: Path, digest: str) -> None:
    """The scan row of a rewritten file follows it: same audio, so same result, under its new signature and hash."""
    from dataclasses import replace

    row = db.get(path)
    if row is None:
        return
    size, mtime_ns, ctime_ns, inode, device = _signature(path)
    db.put(replace(row, size=size, mtime_ns=mtime_ns, ctime_ns=ctime_ns, inode=inode, device=device, hash=digest))


# ---------------------------------------------------------------------------- undoing


@dataclass(frozen=True)
class UndoResult:
    path: Path
    action: str  # restored, already (the write never landed), failed
    reason: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"path": path_text(self.path), "action": self.action, "reason": self.reason}


def _spans(spans_json: str, old_bytes: bytes) -> list[Span]:
    spans, at = [], 0
    for start, end, length in json.loads(spans_json):
        spans.append(Span(int(start), int(end), bytes(old_bytes[at:at + length])))
        at += length
    return spans


def _under(path: str, roots: list[str]) -> bool:
    return not roots or any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def undo_writes(db: LibraryDB, roots: Iterable[str | os.PathLike[str]] = ()) -> list[UndoResult]:
    """Restore every journaled write not yet undone (those under ``roots``, if given), newest first."""
    wanted = [path_text(os.path.abspath(r)) for r in roots]
    entries = db.con.execute(
        "SELECT id, path, path_bytes, before_hash, after_hash, before_mtime_ns, spans, old_bytes FROM journal "
        "WHERE undone_at IS NULL ORDER BY id DESC").fetchall()
    results = []
    for entry_id, text, raw, before_hash, after_hash, mtime_ns, spans_json, old_bytes in entries:
        if not _under(text, wanted):
            continue
        path = path_from_bytes(raw)
        results.append(_undo_one(db, entry_id, path, before_hash, after_hash, mtime_ns, _spans(spans_json, old_bytes)))
    return results


def _undo_one(db: LibraryDB, entry_id: int, path: Path, before_hash: str, after_hash: str, mtime_ns: int,
              spans: list[Span]) -> UndoResult:
    tmp: Path | None = None
    try:
        current = file_hash(path)
        if current == before_hash:
            result = UndoResult(path, "already", "the file is already as it was before the write")
        elif current != after_hash:
            return UndoResult(path, "failed", f"{path_text(path)}: changed since genrekit tagged it; not restored")
        else:
            st = os.stat(path)
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".genrekit-tmp", dir=path.parent)
            tmp = Path(name)
            with os.fdopen(fd, "wb") as out, open(path, "rb") as new:
                for chunk in spliced(new, spans):
                    out.write(chunk)
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            if file_hash(tmp) != before_hash:
                raise TagError(path, "the journal does not rebuild the file as it was; not restored")
            os.utime(tmp, ns=(st.st_atime_ns, mtime_ns))
            os.replace(tmp, path)
            tmp = None
            _refresh_row(db, path, before_hash)
            result = UndoResult(path, "restored")
        db.con.execute("UPDATE journal SET undone_at = ? WHERE id = ?", (time.time(), entry_id))
        return result
    except Exception as error:
        return UndoResult(path, "failed", str(as_input_error(path, error)))
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def default_journal() -> Path:
    """Where writes are journaled without ``--db``: ``$GENREKIT_DATA/tag-journal.sqlite`` (a data folder, not a
    cache, since deleting it would make the writes irreversible)."""
    from genrekit.musicnn.paths import data_root

    return data_root() / "tag-journal.sqlite"


__all__ = ["Classified", "DEFAULT_SEPARATOR", "TagOptions", "TagPlan", "UndoResult", "default_journal",
           "failed_plan", "genre_text", "plan_tag", "same_audio", "undo_writes", "write_planned"]
