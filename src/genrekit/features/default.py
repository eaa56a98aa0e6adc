"""The ``default`` set: genrekit's best hand-crafted features, all from one STFT.

Built from column groups (:data:`GROUPS`); :data:`DEFAULT_GROUPS` are the
ones kept by the ablation in ``benchmarks/select_default.py`` (greedy forward
selection on balanced accuracy, GTZAN fault-filtered train/valid split, SVC
and logistic regression, both directions): the spread of each MFCC's slope
(``mfcc_delta``), the key-independent chroma profile (``chroma_profile``)
and onset/tempo statistics (``rhythm``), 37 columns. On that small,
artist-disjoint split, every further group (MFCC means, spectral contrast,
shape, tempogram bands, energy) lowered the score; they stay available with
``DefaultFeatureSet(groups=[...])`` (``get_feature_set("default", groups=[...])``).

Every group is loudness-robust: a gain change leaves each column unchanged
(up to the -100 dB ``amin`` floor). MFCC 1 and frame energy are measured in
dB below the window's loudest band or frame; chroma is peak-normalised;
contrast, flatness and onset strength are level differences or ratios.

A silent window gives finite values: level features 0 dB, slopes, centroid,
bandwidth, roll-off, ZCR, chroma and onset strength 0, flatness 0 dB (flat),
tempo 0 BPM with strength 0. Windows shorter than 9 frames (0.2 s) use a
shorter slope regression (see :func:`genrekit.features.pooling.delta`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Sequence

import numpy as np

from genrekit.features.base import Column, FeatureSet
from genrekit.features.pooling import delta, pool, pooled_columns
from genrekit.features.rhythm import onset_strength, tempo, tempo_profile
from genrekit.features.spectral import (
    chroma_filterbank,
    normalize_chroma,
    rms,
    spectral_bandwidth,
    spectral_centroid,
    spectral_contrast,
    spectral_flatness,
    spectral_rolloff,
    _zero_crossing_rate,
)
from genrekit.features.seed import ZCR_ROW
from genrekit.features.spectrogram import Spectrogram, as_signal, check_window

N_MFCC = 20
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
TEMPO_BAND_EDGES = tuple(30.0 * 2 ** (k / 2) for k in range(8))
"""BPM edges of the tempogram bands: 30, 42, 60, 85, 120, 170, 240, 339 (half-octave bands)."""


class Window:
    """One analysis window and the per-frame rows the groups share, each computed once."""

    def __init__(self, y: np.ndarray, sr: int, checked: bool = False) -> None:
        self.y = y if checked else as_signal(y)
        self.sr = sr
        # the chroma filterbank rides along in the STFT pass (no full power spectrogram needed)
        self.spec = Spectrogram(self.y, sr, checked=True, power_maps={"chroma": chroma_filterbank(sr)})

    @cached_property
    def mfcc(self) -> np.ndarray:
        """MFCCs with coefficient 1 taken relative to the window's loudest mel band (gain-free)."""
        m = self.spec.mfcc(N_MFCC).astype(np.float64)
        mel_db = self.spec.mel_db
        m[0] -= np.sqrt(mel_db.shape[0]) * float(mel_db.max())
        return m

    @cached_property
    def chroma(self) -> np.ndarray:
        """Chromagram ``(12, n_frames)`` at tuning 0 (A = 440 Hz), frames scaled to peak 1."""
        return normalize_chroma(self.spec.power_map("chroma"))

    @cached_property
    def centroid(self) -> np.ndarray:
        return spectral_centroid(self.spec.magnitude, self.spec.frequencies)

    @cached_property
    def onset_env(self) -> np.ndarray:
        return onset_strength(self.spec.mel_db, n_fft=self.spec.n_fft, hop_length=self.spec.hop_length)

    @cached_property
    def tempo_profile(self) -> tuple[np.ndarray, np.ndarray]:
        # float32 FFTs: measured faster, and on GTZAN clips the tempo and its strength did not change
        # measurably (docs/results.md, "Design measurements")
        return tempo_profile(self.onset_env, self.sr, self.spec.hop_length, double=False)

    @cached_property
    def rms(self) -> np.ndarray:
        return rms(self.y)


@dataclass(frozen=True)
class Group:
    """A block of columns computed together from a :class:`Window`."""

    name: str
    columns: tuple[Column, ...]
    compute: Callable[[Window], np.ndarray]


STATS = ("mean", "std")


def _group(name: str, rows: Sequence[tuple[str, str, str]], compute: Callable[[Window], np.ndarray]) -> Group:
    return Group(name, tuple(pooled_columns(rows, STATS)), compute)


def _mfcc(w: Window) -> np.ndarray:
    return pool(w.mfcc, STATS)


def _mfcc_delta(w: Window) -> np.ndarray:
    return pool(delta(w.mfcc), ("std",))


def _contrast(w: Window) -> np.ndarray:
    peak = float(w.spec.magnitude.max())
    # floor magnitudes 120 dB below the window's peak, not at an absolute level (gain-free), and above
    # the float32 FFT's rounding noise (about -140 dB), which would otherwise set near-empty bands' valleys
    return pool(spectral_contrast(w.spec.magnitude, w.sr, amin=1e-6 * peak if peak > 0 else 1e-10), STATS)


def _chroma(w: Window) -> np.ndarray:
    return pool(w.chroma, STATS)


def _chroma_profile(w: Window) -> np.ndarray:
    gram = w.chroma
    profile = np.sort(gram.mean(axis=1))[::-1]
    return np.concatenate([profile, [float(gram.std())]])


def _shape(w: Window) -> np.ndarray:
    mag, freqs = w.spec.magnitude, w.spec.frequencies
    peak = float(w.spec.power.max())
    # floor relative to the window's peak (-100 dB), not absolute: keeps flatness gain-free
    flatness_db = 10.0 * np.log10(spectral_flatness(w.spec.power, amin=1e-10 * peak if peak > 0 else 1e-10))
    rows = [w.centroid, spectral_bandwidth(mag, freqs), spectral_rolloff(mag, freqs), flatness_db]
    return pool(np.stack(rows), STATS)


def _rhythm(w: Window) -> np.ndarray:
    env = w.onset_env
    bpm, strength = tempo(env, w.sr, profile=w.tempo_profile) if env.any() else (0.0, 0.0)
    return np.concatenate([pool(env, STATS), [bpm, strength]])


def _tempogram(w: Window) -> np.ndarray:
    bpms, strength = w.tempo_profile
    out = np.zeros(len(TEMPO_BAND_EDGES) - 1)
    for k, (lo, hi) in enumerate(zip(TEMPO_BAND_EDGES[:-1], TEMPO_BAND_EDGES[1:])):
        band = (bpms >= lo) & (bpms < hi)
        if band.any():
            out[k] = strength[band].mean()
    return out


def _energy(w: Window) -> np.ndarray:
    energy = np.square(w.rms)
    peak = float(energy.max())
    # dB below the loudest frame, floored at -80 dB relative to it (an absolute floor would depend on gain)
    level_db = 10.0 * np.log10(np.maximum(energy / peak, 1e-8)) if peak > 0 else np.zeros_like(energy)
    low_energy = float(np.mean(w.rms < w.rms.mean()))
    return np.concatenate([pool(level_db, STATS), [low_energy], pool(_zero_crossing_rate(w.y), STATS)])


def _ordinal(k: int) -> str:
    return f"{k}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(k, 'th') }"


_MFCC_ROWS = [
    (f"mfcc{k}", f"MFCC {k} (DCT-II coefficient {k - 1} of the 128-band log-mel spectrum)", "dB")
    for k in range(1, N_MFCC + 1)
]
_MFCC_COLUMNS = tuple(
    Column(c.name, c.description + ("; MFCC 1 relative to the window's loudest band" if "mfcc1_" in c.name else ""))
    for c in pooled_columns(_MFCC_ROWS, STATS)
)
_DELTA_COLUMNS = tuple(
    pooled_columns(
        [(f"mfcc{k}_delta", f"the slope of MFCC {k} (9-frame regression)", "dB/frame") for k in range(1, N_MFCC + 1)],
        ("std",),
    )
)
_CONTRAST_BANDS = ("0-200 Hz", "200-400 Hz", "400-800 Hz", "0.8-1.6 kHz", "1.6-3.2 kHz", "3.2-6.4 kHz", "6.4-11 kHz")
_CONTRAST_ROWS = [
    (f"contrast{k}", f"the spectral contrast (peak minus valley level) in octave band {k} ({band})", "dB")
    for k, band in enumerate(_CONTRAST_BANDS, 1)
]
_CHROMA_ROWS = [
    (f"chroma_{pc.replace('#', 's')}", f"the chroma energy of pitch class {pc} (frame peak = 1)", "")
    for pc in PITCH_CLASSES
]
_CHROMA_PROFILE_COLUMNS = (
    *(
        Column(
            f"chroma_rank{k}_mean",
            f"Mean chroma of the window's {_ordinal(k)} strongest pitch class (frame peak = 1; key-free)",
        )
        for k in range(1, 13)
    ),
    Column("chroma_std", "Standard deviation of the chromagram over frames and pitch classes"),
)
_SHAPE_ROWS = [
    ("spectral_centroid", "the spectral centroid, the magnitude-weighted mean frequency", "Hz"),
    ("spectral_bandwidth", "the spectral bandwidth, the magnitude-weighted spread around the centroid", "Hz"),
    ("rolloff", "the 85 % spectral roll-off frequency", "Hz"),
    ("spectral_flatness", "the spectral flatness (geometric over arithmetic mean power), in dB", "dB"),
]
_RHYTHM_COLUMNS = (
    *pooled_columns([("onset_strength", "the onset strength (mean positive rise of the log-mel bands)", "dB")], STATS),
    Column("tempo", "Global tempo estimate (BPM, librosa.feature.tempo's method; 0 without onsets)"),
    Column("tempo_strength", "Time-averaged onset autocorrelation at the tempo's period (0-1)"),
)
_TEMPOGRAM_COLUMNS = tuple(
    Column(
        f"tempogram_{lo:.0f}_{hi:.0f}bpm",
        f"Mean onset autocorrelation at periods of {lo:.0f}-{hi:.0f} BPM (time-averaged tempogram)",
    )
    for lo, hi in zip(TEMPO_BAND_EDGES[:-1], TEMPO_BAND_EDGES[1:])
)
_ENERGY_COLUMNS = (
    *pooled_columns([("rms_db", "the frame RMS level relative to the window's loudest frame", "dB")], STATS),
    Column("low_energy", "Share of frames whose RMS is below the window's mean RMS (0-1)"),
    *pooled_columns([ZCR_ROW], STATS),
)

GROUPS: dict[str, Group] = {
    g.name: g
    for g in (
        Group("mfcc", _MFCC_COLUMNS, _mfcc),
        Group("mfcc_delta", _DELTA_COLUMNS, _mfcc_delta),
        _group("contrast", _CONTRAST_ROWS, _contrast),
        _group("chroma", _CHROMA_ROWS, _chroma),
        Group("chroma_profile", _CHROMA_PROFILE_COLUMNS, _chroma_profile),
        _group("spectral_shape", _SHAPE_ROWS, _shape),
        Group("rhythm", _RHYTHM_COLUMNS, _rhythm),
        Group("tempogram", _TEMPOGRAM_COLUMNS, _tempogram),
        Group("energy", _ENERGY_COLUMNS, _energy),
    )
}
"""Candidate column groups, in the order the ablation adds them."""

DEFAULT_GROUPS: tuple[str, ...] = ("mfcc_delta", "chroma_profile", "rhythm")
"""The groups the ``default`` set uses (chosen by ``benchmarks/select_default.py``)."""


def compute_groups(y: np.ndarray, sr: int, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Values of the named groups for one window (sharing one STFT), ``{name: (n_columns,)}``."""
    window = Window(y, sr)
    return {name: np.asarray(GROUPS[name].compute(window), dtype=np.float64) for name in names}


class DefaultFeatureSet(FeatureSet):
    """The project's default hand-crafted set: the groups of :data:`DEFAULT_GROUPS`."""

    name = "default"
    version = "1"

    def __init__(self, groups: Sequence[str] | None = None) -> None:
        names = tuple(DEFAULT_GROUPS if groups is None else groups)
        unknown = [n for n in names if n not in GROUPS]
        if unknown or not names or len(set(names)) != len(names):
            raise ValueError(
                f"groups must be distinct names from {', '.join(GROUPS)}; got {list(names)}"
            )
        self.groups = names
        self._groups = [GROUPS[name] for name in names]
        self._columns = tuple(c for g in self._groups for c in g.columns)

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def options(self) -> dict[str, list[str]]:
        return {"groups": list(self.groups)}

    def extract(self, y: np.ndarray, sr: int) -> np.ndarray:
        y = check_window(y, sr, self.sample_rate)
        window = Window(y, sr, checked=True)
        return np.concatenate([g.compute(window) for g in self._groups])


__all__ = ["DEFAULT_GROUPS", "GROUPS", "DefaultFeatureSet", "Group", "Window", "compute_groups"]
