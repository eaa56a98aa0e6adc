"""Cutting a signal into analysis windows, whole or as a stream of blocks.

:func:`cut_windows` cuts a signal held in memory; :func:`stream_windows`
cuts a stream of blocks into exactly the same windows (same starts,
bit-identical samples) while holding about one window plus one block, so a
recording of any length is classified in bounded memory. One window over
the whole file needs the whole signal, so it is capped at
:data:`MAX_WHOLE_FILE_SECONDS`; and it must hold at least
:data:`MIN_WHOLE_FILE_SECONDS`, or a 1-sample file would give a feature row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from genrekit.audio.limits import MAX_WHOLE_FILE_SECONDS, MIN_WHOLE_FILE_SECONDS
from genrekit.errors import AudioTooLongError, AudioTooShortError, ConfigError


@dataclass(frozen=True)
class Windowing:
    """How a signal is cut into analysis windows.

    ``window=None`` means one window over the whole signal (one row per file),
    which must last at least :data:`MIN_WHOLE_FILE_SECONDS`; otherwise windows
    of ``window`` seconds start every ``hop`` seconds (``hop`` defaults to
    ``window``: no overlap). When the regular windows leave at least
    ``min_fraction`` of a hop uncovered at the end, one more window is aligned
    to the end of the signal, so the last seconds of a song are heard too. A
    signal shorter than one window but at least ``min_fraction`` of it yields
    a single, shorter window.
    """

    window: float | None = None
    hop: float | None = None
    min_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.window is not None and not self.window > 0:
            raise ConfigError(f"window must be > 0 seconds, got {self.window}")
        if self.hop is not None and not self.hop > 0:
            raise ConfigError(f"hop must be > 0 seconds, got {self.hop}")

    def lengths(self, sr: int) -> tuple[int, int]:
        """``(window, hop)`` in samples at ``sr`` Hz (regular windows only)."""
        if self.window is None:
            raise ValueError("a whole-file Windowing has no window length")
        length = max(int(round(self.window * sr)), 1)
        hop = max(int(round((self.hop or self.window) * sr)), 1)
        return length, hop

    def starts(self, n_samples: int, sr: int) -> list[tuple[int, int]]:
        """``(start, stop)`` sample indices of each window over ``n_samples``."""
        if n_samples <= 0:
            return []
        if self.window is None:
            return [(0, n_samples)] if n_samples >= MIN_WHOLE_FILE_SECONDS * sr else []
        length, hop = self.lengths(sr)
        if n_samples < length:
            return [(0, n_samples)] if n_samples >= self.min_fraction * length else []
        bounds = [(s, s + length) for s in range(0, n_samples - length + 1, hop)]
        if n_samples - bounds[-1][1] >= self.min_fraction * hop:
            bounds.append((n_samples - length, n_samples))
        return bounds

    def as_dict(self) -> dict[str, float | None]:
        return {"window": self.window, "hop": self.hop if self.window is None else (self.hop or self.window)}


def _too_short(path: str | os.PathLike[str], n_samples: int, sr: int, windowing: Windowing) -> AudioTooShortError:
    if windowing.window is None:
        detail = f"{n_samples / sr:.3f} s of audio; whole-file analysis needs at least {MIN_WHOLE_FILE_SECONDS:g} s"
    else:
        detail = f"{n_samples / sr:.3f} s of audio, windows are {windowing.window} s"
    return AudioTooShortError(path, detail)


def _too_long(path: str | os.PathLike[str], n_samples: int, sr: int) -> AudioTooLongError:
    return AudioTooLongError(
        path,
        f"more than {n_samples / sr / 60:.1f} min of audio; whole-file analysis reads at most "
        f"{MAX_WHOLE_FILE_SECONDS / 60:g} min; use windows (--window) for longer recordings",
    )


def cut_windows(
    y: np.ndarray, sr: int, windowing: Windowing, path: str | os.PathLike[str] = "<signal>"
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(start_seconds, samples)`` for each analysis window of ``y``.

    Raises :class:`AudioTooShortError` when ``y`` holds no full window, and
    :class:`AudioTooLongError` for a whole-file window over more than
    :data:`MAX_WHOLE_FILE_SECONDS`.
    """
    if windowing.window is None and len(y) > MAX_WHOLE_FILE_SECONDS * sr:
        raise _too_long(path, len(y), sr)
    bounds = windowing.starts(len(y), sr)
    if not bounds:
        raise _too_short(path, len(y), sr, windowing)
    for start, stop in bounds:
        yield start / sr, y[start:stop]


def _whole(blocks: Iterable[np.ndarray], sr: int, windowing: Windowing,
           path: str | os.PathLike[str]) -> Iterator[tuple[float, np.ndarray]]:
    cap = MAX_WHOLE_FILE_SECONDS * sr
    parts: list[np.ndarray] = []
    total = 0
    for block in blocks:
        block = np.asarray(block)
        total += len(block)
        if total > cap:
            parts.clear()
            raise _too_long(path, total, sr)
        parts.append(block)
    y = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    parts.clear()
    yield from cut_windows(y, sr, windowing, path)


def stream_windows(
    blocks: Iterable[np.ndarray], sr: int, windowing: Windowing, path: str | os.PathLike[str] = "<signal>"
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield what ``cut_windows(np.concatenate(blocks), sr, windowing, path)`` yields, holding little.

    Regular windows are yielded as soon as their samples have arrived; only
    the last ``window`` samples (for the end-aligned last window) plus the
    blocks since the last cut are kept. A whole-file window collects the
    signal and raises :class:`AudioTooLongError` as soon as it passes
    :data:`MAX_WHOLE_FILE_SECONDS`, without reading further. Raises
    :class:`AudioTooShortError` at the end when no window fits.
    """
    if windowing.window is None:
        yield from _whole(blocks, sr, windowing, path)
        return
    length, hop = windowing.lengths(sr)
    buf: np.ndarray | None = None  # samples from absolute index buf_start on
    buf_start = 0
    pending: list[np.ndarray] = []
    pending_n = 0
    total = 0
    next_start = 0  # the next regular window's first sample
    last_stop = 0  # the end of the last regular window yielded
    emitted = False

    def compact() -> np.ndarray:
        nonlocal buf, pending_n
        parts = ([buf] if buf is not None else []) + pending
        buf = np.concatenate(parts) if len(parts) > 1 else parts[0]
        pending.clear()
        pending_n = 0
        return buf

    for block in blocks:
        block = np.asarray(block)
        if len(block) == 0:
            continue
        pending.append(block)
        pending_n += len(block)
        total += len(block)
        if total < next_start + length and pending_n < length:
            continue
        data = compact()
        while next_start + length <= total:
            offset = next_start - buf_start
            yield next_start / sr, data[offset:offset + length]
            emitted = True
            last_stop = next_start + length
            next_start += hop
        keep_from = max(min(next_start, total - length), 0)
        if keep_from > buf_start:
            buf = data[keep_from - buf_start:].copy()
            buf_start = keep_from
    if pending or buf is None:
        if not pending and buf is None:
            raise _too_short(path, 0, sr, windowing)
        compact()
    assert buf is not None
    if total < length:
        if total >= windowing.min_fraction * length:
            yield 0.0, buf[:total]
            return
        raise _too_short(path, total, sr, windowing)
    if emitted and total - last_stop >= windowing.min_fraction * hop:
        offset = total - length - buf_start
        yield (total - length) / sr, buf[offset:offset + length]


__all__ = ["Windowing", "cut_windows", "stream_windows"]
