"""What a model hears in a recording: its per-frame features, thinned for drawing on a page.

Built on :func:`genrekit.features.timeline.frame_features`, the same frame
rows the feature sets pool and the demo report draws. Frames are averaged in
groups so at most :data:`MAX_FRAMES` come back whatever the length, and only
the first :data:`EXPLAIN_MAX_SECONDS` (or the server's limit, if lower) are
decoded, since one STFT of the whole recording is held at once.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from genrekit.audio import DEFAULT_SAMPLE_RATE, load_audio, probe
from genrekit.features.timeline import frame_features

MAX_FRAMES = 1000
EXPLAIN_MAX_SECONDS = 120.0
"""Longest stretch explained: 120 s is ~5,200 STFT frames (~45 MB of spectrum) per request."""

EXPLANATIONS = {
    "mel": "How loud each band of pitch is over time, on the mel scale (spaced as hearing spaces pitch): "
           "bright rows are the frequencies that dominate, e.g. a bass line low down, cymbals at the top.",
    "mfcc": "The overall shape of the spectrum (timbre) in 20 numbers per frame: the first follows loudness, "
            "the next ones how the energy is spread from low to high; similar instruments give similar patterns.",
    "zcr": "How often the waveform crosses zero per sample: high for noisy, hissy or percussive sound "
           "(hi-hats, distortion), low for smooth tones.",
    "centroid": "The spectrum's centre of mass in Hz, heard as brightness: high for bright, treble-heavy sound, "
                "low for dark, bass-heavy sound.",
}


def explain_file(path: Path, *, max_duration_s: float) -> dict[str, Any]:
    """The :class:`~genrekit.serve.schemas.Explanation` of the first seconds of the file at ``path``."""
    limit = min(max_duration_s, EXPLAIN_MAX_SECONDS)
    info = probe(path)
    sr = DEFAULT_SAMPLE_RATE
    y = load_audio(path, sr, duration=limit)
    seconds = len(y) / sr
    truncated = info.duration > limit if info.frames >= 0 else seconds >= limit - 1e-3
    frames = frame_features(y, sr)
    group = max(1, math.ceil(len(frames.times) / MAX_FRAMES))
    return {
        "sample_rate": sr,
        "duration_s": round(seconds, 3),
        "truncated": bool(truncated),
        "hop_seconds": round(frames.hop_length * group / sr, 6),
        "times": _rounded(_thin(frames.times, group), 3),
        "mel": {"db": _rounded(_thin(frames.mel_db, group), 1),
                "frequencies": _rounded(frames.mel_frequencies, 1)},
        "mfcc": _rounded(_thin(frames.mfcc, group), 2),
        "zcr": _rounded(_thin(frames.zero_crossing_rate, group), 4),
        "centroid": _rounded(_thin(frames.spectral_centroid, group), 1),
        "explanations": dict(EXPLANATIONS),
    }


def _thin(rows: np.ndarray, group: int) -> np.ndarray:
    """Average each run of ``group`` frames along the last axis (the last run may be shorter)."""
    if group == 1:
        return rows
    edges = np.arange(0, rows.shape[-1], group)
    sums = np.add.reduceat(np.asarray(rows, dtype=np.float64), edges, axis=-1)
    counts = np.diff(np.append(edges, rows.shape[-1]))
    return sums / counts


def _rounded(values: np.ndarray, decimals: int) -> Any:
    """JSON-ready lists; a non-finite value (JSON has none) becomes 0."""
    return np.round(np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0),
                    decimals).tolist()
