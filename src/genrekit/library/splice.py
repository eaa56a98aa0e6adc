"""What a tag write changed in a file, as the few byte ranges that undo it exactly.

A tag write rewrites the tag block and leaves the audio alone, but where the
block sits differs by format: ID3v2 at the start (the audio after it moves),
an ID3v1 tag at the very end, a FLAC or Ogg header at the start, a WAV/AIFF
``id3`` chunk at the end together with the RIFF/FORM size at offset 4, an MP4
``moov`` atom at either end. So the journal does not parse formats: it
compares the file before and after and keeps the old bytes of at most two
changed ranges, one near the start and one near the end, located in the new
file (:class:`Span`). Splicing those old bytes into the new file gives the old
file back byte for byte; :func:`diff_spans` checks that it does (by hash)
before a write goes ahead, so an undo that was journaled always works.

Everything reads the files in chunks: memory is bounded by the ranges kept,
never by the file's length.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import BinaryIO, Iterator

import numpy as np

from genrekit.errors import TagError

CHUNK = 1 << 16
EDIT_WINDOW = 1 << 20
"""How far from the first (or last) difference a second, separate edit is looked for."""
MAX_JOURNAL_BYTES = 32 << 20
"""The most old bytes one journal entry keeps; a write that changes more is refused (the file is left alone)."""


@dataclass(frozen=True)
class Span:
    """``new[new_start:new_end]`` replaced by ``old`` gives back the file as it was."""

    new_start: int
    new_end: int
    old: bytes


def _read(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(max(0, size))


def _first_difference(a: BinaryIO, a_at: int, b: BinaryIO, b_at: int, length: int) -> int:
    """How many bytes from ``a_at`` in ``a`` and ``b_at`` in ``b`` are equal, up to ``length``."""
    done = 0
    while done < length:
        n = min(CHUNK, length - done)
        x, y = _read(a, a_at + done, n), _read(b, b_at + done, n)
        m = min(len(x), len(y))
        diff = np.flatnonzero(np.frombuffer(x[:m], np.uint8) != np.frombuffer(y[:m], np.uint8))
        if diff.size:
            return done + int(diff[0])
        if m < n:
            return done + m
        done += n
    return length


def _last_difference(a: BinaryIO, a_end: int, b: BinaryIO, b_end: int, length: int) -> int:
    """How many bytes ending at ``a_end`` in ``a`` and ``b_end`` in ``b`` are equal, up to ``length``."""
    done = 0
    while done < length:
        n = min(CHUNK, length - done)
        x, y = _read(a, a_end - done - n, n), _read(b, b_end - done - n, n)
        diff = np.flatnonzero(np.frombuffer(x, np.uint8) != np.frombuffer(y, np.uint8))
        if diff.size:
            return done + (n - 1 - int(diff[-1]))
        done += n
    return length


def spliced(new: BinaryIO, spans: list[Span]) -> Iterator[bytes]:
    """The bytes of ``new`` with each span's range replaced by its old bytes, in chunks."""
    at = 0
    for span in [*spans, Span(-1, -1, b"")]:
        stop = span.new_start
        new.seek(at)
        while stop < 0 or at < stop:
            chunk = new.read(CHUNK if stop < 0 else min(CHUNK, stop - at))
            if not chunk:
                break
            at += len(chunk)
            yield chunk
        if stop >= 0:
            yield span.old
            at = span.new_end


def content_hash(chunks: Iterator[bytes]) -> str:
    """The hash ``store.file_hash`` would give the concatenation of ``chunks`` (BLAKE2b-128, hex)."""
    h = hashlib.blake2b(digest_size=16)
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def _candidates(a: BinaryIO, la: int, b: BinaryIO, lb: int) -> Iterator[list[tuple[int, int, int, int]]]:
    """Ways to cover the differences: lists of ``(old_start, old_end, new_start, new_end)``, smallest first likely."""
    prefix = _first_difference(a, 0, b, 0, min(la, lb))
    suffix = _last_difference(a, la, b, lb, min(la, lb) - prefix)
    yield [(prefix, la - suffix, prefix, lb - suffix)]
    # the start keeps its length: the edit there ends within the window, then the files agree until the end edit
    window = min(EDIT_WINDOW, la - suffix - prefix, lb - suffix - prefix)
    head_end = prefix + window - _last_difference(a, prefix + window, b, prefix + window, window)
    same = _first_difference(a, head_end, b, head_end, min(la, lb) - suffix - head_end)
    yield [(prefix, head_end, prefix, head_end), (head_end + same, la - suffix, head_end + same, lb - suffix)]
    # the end keeps its length (the start grew or shrank): mirror image, aligned from the end
    shift = lb - la
    tail_start = la - suffix - window + _first_difference(a, la - suffix - window, b, lb - suffix - window, window)
    same = _last_difference(a, tail_start, b, tail_start + shift, max(0, min(tail_start - prefix, tail_start + shift - prefix)))
    yield [(prefix, tail_start - same, prefix, tail_start + shift - same),
           (tail_start, la - suffix, tail_start + shift, lb - suffix)]


def diff_spans(old_path: str | os.PathLike[str], new_path: str | os.PathLike[str], old_hash: str) -> list[Span]:
    """The spans that turn ``new_path`` back into ``old_path`` (whose content hash is ``old_hash``), checked.

    Raises :class:`TagError` when no way of covering the changes within
    :data:`MAX_JOURNAL_BYTES` reproduces the old file exactly.
    """
    with open(old_path, "rb") as a, open(new_path, "rb") as b:
        la, lb = os.fstat(a.fileno()).st_size, os.fstat(b.fileno()).st_size
        options = []
        for ranges in _candidates(a, la, b, lb):
            ordered = all(0 <= s <= e for s, e, _, _ in ranges) and all(0 <= s <= e for _, _, s, e in ranges) and all(
                ranges[i][1] <= ranges[i + 1][0] and ranges[i][3] <= ranges[i + 1][2] for i in range(len(ranges) - 1))
            kept = sum(e - s for s, e, _, _ in ranges)
            if ordered and kept <= MAX_JOURNAL_BYTES:
                options.append((kept, ranges))
        for _, ranges in sorted(options, key=lambda option: option[0]):
            spans = [Span(ns, ne, _read(a, s, e - s)) for s, e, ns, ne in ranges if e > s or ne > ns]
            if content_hash(spliced(b, spans)) == old_hash:
                return spans
    raise TagError(new_path, "the tag write changed too much of the file to journal it for --undo; "
                             "the file was left as it was")


__all__ = ["MAX_JOURNAL_BYTES", "Span", "content_hash", "diff_spans", "spliced"]
