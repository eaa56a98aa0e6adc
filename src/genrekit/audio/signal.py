"""Downmixing and resampling, the two operations between a decoder's frames and genrekit's signal.

Both follow librosa's defaults (channel average, soxr's ``HQ`` filter), so a
file decoded by genrekit gives the samples ``librosa.load`` gives. The
streaming resampler gives bit-identical output whatever the block sizes, so
a signal decoded block by block equals one resampled in one go.
"""

from __future__ import annotations

import numpy as np

SOXR_QUALITY = "HQ"
"""soxr's high-quality filter: librosa's default ``res_type="soxr_hq"``."""


EXACT_SUM_CHANNELS = 7
"""Up to this many channels numpy's mean adds them in order (from 8 on it unrolls), so a column-by-column sum
gives its exact bits."""


def to_mono(y: np.ndarray) -> np.ndarray:
    """Average the channels of a ``(samples, channels)`` array (librosa's downmix, to the bit).

    float32 frames of up to :data:`EXACT_SUM_CHANNELS` channels are summed a
    column at a time: the same additions in the same order as ``mean(axis=1)``
    but with contiguous, vectorised passes (a strided mean over two channels
    costs about 20 times as much, a few percent of a prediction).
    """
    if y.ndim == 1:
        return y
    if y.dtype != np.float32 or y.shape[1] > EXACT_SUM_CHANNELS:
        return y.mean(axis=1, dtype=np.float32) if y.dtype == np.float32 else y.mean(axis=1)
    total = y[:, 0].copy()
    for channel in range(1, y.shape[1]):
        total += y[:, channel]
    return total / np.float32(y.shape[1])


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample a mono signal with soxr's high-quality filter (librosa's default)."""
    if orig_sr == target_sr:
        return y
    import soxr

    return soxr.resample(y, orig_sr, target_sr, quality=SOXR_QUALITY).astype(np.float32, copy=False)


class StreamResampler:
    """Resample a mono float32 signal block by block; the concatenated output equals :func:`resample`'s."""

    def __init__(self, orig_sr: int, target_sr: int) -> None:
        self._stream = None
        if orig_sr != target_sr:
            import soxr

            self._stream = soxr.ResampleStream(orig_sr, target_sr, 1, dtype="float32", quality=SOXR_QUALITY)

    def push(self, block: np.ndarray) -> np.ndarray:
        """Resampled samples available after ``block`` (possibly none yet)."""
        if self._stream is None:
            return block
        return self._stream.resample_chunk(np.ascontiguousarray(block, dtype=np.float32))

    def flush(self) -> np.ndarray:
        """The samples still held in the filter, at the end of the signal."""
        if self._stream is None:
            return np.zeros(0, np.float32)
        return self._stream.resample_chunk(np.zeros(0, np.float32), last=True)


__all__ = ["SOXR_QUALITY", "StreamResampler", "resample", "to_mono"]
