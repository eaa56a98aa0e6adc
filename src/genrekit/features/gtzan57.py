"""The ``gtzan57`` set: the 57 feature columns of the GTZAN Kaggle ``features_30_sec.csv``.

Same names, order and definitions as that widely used table, computed the
way librosa's defaults compute them (``chroma_stft`` with estimated tuning,
``rms``, ``spectral_centroid``, ``spectral_bandwidth``, ``spectral_rolloff``,
``zero_crossing_rate``, ``mfcc`` with 20 coefficients; ``harmony_*`` and
``perceptr_*`` are mean and variance of the two waveforms of
``librosa.effects.hpss(y)``; ``tempo`` is ``librosa.beat.beat_track``'s tempo
estimate; every ``_var`` is ``np.var``), all from one shared STFT.

``hpss=False`` (CLI ``--no-hpss``) drops the four ``harmony_*``/``perceptr_*``
columns (53 remain): median-filter HPSS costs far more than all the other
columns together (timings in ``docs/results.md``). A silent window gives
zeros everywhere except ``mfcc1_mean``
(``-100 * sqrt(128)`` dB, the ``amin`` floor) and ``tempo`` 0 (no onsets,
as ``beat_track``).
"""

from __future__ import annotations

import numpy as np

from genrekit.features.base import Column, FeatureSet
from genrekit.features.hpss import harmonic_percussive
from genrekit.features.pooling import pool, pooled_columns
from genrekit.features.rhythm import onset_strength, tempo
from genrekit.features.seed import CENTROID_ROW, MFCC_ROWS, N_MFCC, ZCR_ROW
from genrekit.features.spectral import (
    chroma,
    estimate_tuning,
    rms,
    spectral_bandwidth,
    spectral_centroid,
    spectral_rolloff,
    zero_crossing_rate,
)
from genrekit.features.spectrogram import Spectrogram, check_window

_HEAD_ROWS = [
    ("chroma_stft", "the STFT chromagram over all 12 pitch classes (each frame scaled to peak 1)", ""),
    ("rms", "the RMS amplitude of 2048-sample frames", "full scale"),
    CENTROID_ROW,
    ("spectral_bandwidth", "the spectral bandwidth, the magnitude-weighted spread around the centroid", "Hz"),
    ("rolloff", "the 85 % spectral roll-off frequency", "Hz"),
    ZCR_ROW,
]
_HPSS_ROWS = [
    ("harmony", "the samples of the harmonic part of the signal (median-filter HPSS)", "full scale"),
    ("perceptr", "the samples of the percussive part of the signal (median-filter HPSS)", "full scale"),
]
_TEMPO = Column(
    "tempo", "Global tempo estimate of the window (BPM; librosa beat_track's estimate, 0 when there are no onsets)"
)


def _columns(hpss: bool) -> tuple[Column, ...]:
    head = pooled_columns(_HEAD_ROWS + (_HPSS_ROWS if hpss else []))
    for column in head:  # the samples of a waveform are pooled over the whole window, not over frames
        if column.name.startswith(("harmony", "perceptr")):
            head[head.index(column)] = Column(column.name, column.description.replace("over frames of", "over"))
    return (*head, _TEMPO, *pooled_columns(MFCC_ROWS))


def beat_track_tempo(spec: Spectrogram) -> float:
    """``librosa.beat.beat_track(y=y, sr=sr)[0]``: tempo of the median-aggregated onset envelope, 0 without onsets."""
    env = onset_strength(spec.mel_db, aggregate="median", n_fft=spec.n_fft, hop_length=spec.hop_length)
    if not env.any():
        return 0.0
    return tempo(env, spec.sr, spec.hop_length)[0]


class Gtzan57FeatureSet(FeatureSet):
    """The 57 GTZAN Kaggle CSV features (53 with ``hpss=False``)."""

    name = "gtzan57"
    version = "1"

    def __init__(self, hpss: bool = True) -> None:
        self.hpss = bool(hpss)
        self._columns = _columns(self.hpss)

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def options(self) -> dict[str, bool]:
        return {"hpss": self.hpss}

    def extract(self, y: np.ndarray, sr: int) -> np.ndarray:
        y = check_window(y, sr, self.sample_rate)
        # float64 FFT as librosa: the bandwidth of a near-pure tone weighs near-silent bins heavily
        spec = Spectrogram(y, sr, double=True, keep_stft=self.hpss, checked=True)
        mag, freqs = spec.magnitude, spec.frequencies
        chromagram = chroma(spec.power, sr, tuning=estimate_tuning(spec.power, sr))
        centroid = spectral_centroid(mag, freqs)
        parts = [
            pool(chromagram.ravel()),
            pool(rms(y)),
            pool(centroid),
            pool(spectral_bandwidth(mag, freqs)),
            pool(spectral_rolloff(mag, freqs)),
            pool(zero_crossing_rate(y)),
        ]
        if self.hpss:
            harmonic, percussive = harmonic_percussive(y, spec.stft.T)
            parts += [pool(harmonic), pool(percussive)]
        parts += [np.array([beat_track_tempo(spec)]), pool(spec.mfcc(N_MFCC))]
        return np.concatenate(parts)


__all__ = ["Gtzan57FeatureSet", "beat_track_tempo"]
