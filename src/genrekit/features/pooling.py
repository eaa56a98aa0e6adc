"""Pool per-frame features into one vector per window, with stable column names.

A feature row ``x`` of a window becomes ``x_mean`` and ``x_var`` (population
variance, ``np.var``) or ``x_std``, always in that interleaved order, so
``mfcc1_mean, mfcc1_var, mfcc2_mean, ...`` as in the GTZAN Kaggle CSV.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from genrekit.features.base import Column

STATS = ("mean", "var", "std")

_STAT_TEXT = {
    "mean": ("Mean", "{unit}"),
    "var": ("Variance", "{unit}²"),
    "std": ("Standard deviation", "{unit}"),
}


def pool(rows: np.ndarray, stats: Sequence[str] = ("mean", "var")) -> np.ndarray:
    """Statistics over frames of each row, interleaved per row, float64.

    ``rows`` is ``(n_rows, n_frames)`` (or ``(n_frames,)`` for one row); the
    result is ``(n_rows * len(stats),)``: ``row0_stat0, row0_stat1, row1_stat0, ...``.
    """
    x = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    if x.shape[1] == 0:
        raise ValueError("cannot pool zero frames")
    out = np.empty((x.shape[0], len(stats)))
    mean = x.mean(axis=1)
    for j, stat in enumerate(stats):
        if stat == "mean":
            out[:, j] = mean
        elif stat in ("var", "std"):
            var = np.mean(np.square(x - mean[:, None]), axis=1)
            out[:, j] = var if stat == "var" else np.sqrt(var)
        else:
            raise ValueError(f"unknown statistic {stat!r}; choose from {', '.join(STATS)}")
    return out.ravel()


def pooled_columns(
    rows: Sequence[tuple[str, str, str]], stats: Sequence[str] = ("mean", "var")
) -> list[Column]:
    """Columns for :func:`pool` of rows described as ``(name, meaning, unit)``.

    ``("spectral_centroid", "the spectral centroid, the magnitude-weighted mean frequency", "Hz")``
    gives ``spectral_centroid_mean`` ("Mean over frames of the spectral centroid, ... (Hz)")
    and ``spectral_centroid_var`` ("Variance over frames of ... (Hz²)").
    """
    columns = []
    for name, meaning, unit in rows:
        for stat in stats:
            label, unit_fmt = _STAT_TEXT[stat]
            suffix = f" ({unit_fmt.format(unit=unit)})" if unit else ""
            columns.append(Column(f"{name}_{stat}", f"{label} over frames of {meaning}{suffix}"))
    return columns


def delta(rows: np.ndarray, width: int = 9) -> np.ndarray:
    """First-order time derivative of each row, ``(n_rows, n_frames)`` per frame.

    ``librosa.feature.delta(rows, width=width)``: the slope of a least-squares
    line through ``width`` frames centred on each frame (Savitzky-Golay,
    order 1); the first and last ``width // 2`` frames take the slope of the
    line through the first or last ``width`` frames. Windows shorter than
    ``width`` frames use the longest odd width that fits (zeros below 3 frames),
    where librosa raises.
    """
    x = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    count = x.shape[1]
    width = min(width, count if count % 2 else count - 1)
    if width < 3:
        return np.zeros_like(x)
    if width % 2 == 0:
        raise ValueError("width must be odd")
    half = width // 2
    k = np.arange(-half, half + 1, dtype=np.float64)
    weights = k / np.sum(k * k)
    out = np.empty_like(x)
    windows = np.lib.stride_tricks.sliding_window_view(x, width, axis=1)
    out[:, half : count - half] = windows @ weights
    out[:, :half] = (x[:, :width] @ weights)[:, None]
    out[:, count - half :] = (x[:, -width:] @ weights)[:, None]
    return out


__all__ = ["STATS", "delta", "pool", "pooled_columns"]
