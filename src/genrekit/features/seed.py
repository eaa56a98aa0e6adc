"""The ``seed`` set: MFCC, zero-crossing rate and spectral centroid, mean and variance.

44 columns: ``mfcc1_mean, mfcc1_var, ..., mfcc20_var, zero_crossing_rate_mean,
zero_crossing_rate_var, spectral_centroid_mean, spectral_centroid_var``,
named as in ``gtzan57`` and equal to pooling ``librosa.feature.mfcc(y=y, sr=sr)``,
``zero_crossing_rate(y)`` and ``spectral_centroid(y=y, sr=sr)`` with ``np.mean``
and ``np.var``. A silent window gives ``mfcc1 = -100 * sqrt(128)`` dB (every
mel band at the ``amin`` floor), other MFCCs, ZCR and centroid 0.
"""

from __future__ import annotations

import numpy as np

from genrekit.features.base import Column, FeatureSet
from genrekit.features.pooling import pool, pooled_columns
from genrekit.features.spectral import _zero_crossing_rate, spectral_centroid
from genrekit.features.spectrogram import Spectrogram, check_window

N_MFCC = 20

MFCC_ROWS = [
    (f"mfcc{k}", f"MFCC {k} (orthonormal DCT-II coefficient {k - 1} of the 128-band log-mel spectrum)", "dB")
    for k in range(1, N_MFCC + 1)
]
ZCR_ROW = ("zero_crossing_rate", "the zero-crossing rate, the share of sign changes between successive samples", "")
CENTROID_ROW = ("spectral_centroid", "the spectral centroid, the magnitude-weighted mean frequency", "Hz")

COLUMNS = tuple(pooled_columns([*MFCC_ROWS, ZCR_ROW, CENTROID_ROW]))


class SeedFeatureSet(FeatureSet):
    """20 MFCCs, ZCR and spectral centroid, each pooled to mean and variance (44 columns)."""

    name = "seed"
    version = "1"

    @property
    def columns(self) -> tuple[Column, ...]:
        return COLUMNS

    def extract(self, y: np.ndarray, sr: int) -> np.ndarray:
        y = check_window(y, sr, self.sample_rate)
        spec = Spectrogram(y, sr, checked=True)
        return np.concatenate(
            [
                pool(spec.mfcc(N_MFCC)),
                pool(_zero_crossing_rate(y)),
                pool(spectral_centroid(spec.magnitude, spec.frequencies)),
            ]
        )


__all__ = ["SeedFeatureSet"]
