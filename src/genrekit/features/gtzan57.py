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

from functools import lru_cache

from genrekit.features.base import Column, FeatureSet
from genrekit.features.pooling import pool, pooled_columns
from genrekit.features.rhythm import onset_strength, tempo
from genrekit.features.seed import CENTROID_ROW, MFCC_ROWS, N_MFCC, ZCR_ROW
from genrekit.features.spectral import (
    _zero_crossing_rate,
    chroma_filterbank,
    rms,
    refine_tuning_peaks,
    tuning_band,
    tuning_from_peaks,
    tuning_peak_bins,
)
from genrekit.features.spectrogram import (
    HOP_LENGTH,
    N_FFT,
    N_MELS,
    Spectrogram,
    _spectra,
    check_window,
    dct_matrix,
    fft_frequencies,
    mel_bands,
    n_frames,
    power_to_db,
)

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
    return _beat_track_tempo(spec.mel_db, spec.sr, spec.n_fft, spec.hop_length)


def _beat_track_tempo(mel_db: np.ndarray, sr: int, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH) -> float:
    env = onset_strength(mel_db, aggregate="median", n_fft=n_fft, hop_length=hop_length)
    if not env.any():
        return 0.0
    return tempo(env, sr, hop_length)[0]


_TINY32 = np.finfo(np.float32).tiny
_ROLL_PERCENT = 0.85
PASS_FRAMES = 64
"""Frames per block of the pass: the block's spectra, magnitudes and their float64 copy stay in a
core's L2 cache (measured faster than 128 or 32)."""


@lru_cache(maxsize=4)
def _moment_weights(sr: int, n_fft: int) -> np.ndarray:
    """``[1, f, f**2]`` per bin, ``(n_bins, 3)`` float64, read-only: magnitudes times it give each
    frame's float64 moments (its sum, centroid numerator, second moment)."""
    f = fft_frequencies(sr, n_fft)
    w = np.ascontiguousarray(np.stack([np.ones_like(f), f, f * f], axis=1))
    w.flags.writeable = False
    return w


def _first_reaching(running: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Per row of non-decreasing ``running`` ``(n_rows, n)``, the first index where it reaches ``threshold``.

    A binary search over all rows at once (``ceil(log2(n))`` gathers), equal to
    ``argmax(running >= threshold[:, None], axis=1)`` when the last value reaches the threshold.
    """
    rows = np.arange(running.shape[0])
    lo = np.zeros(running.shape[0], dtype=np.intp)
    hi = np.full(running.shape[0], running.shape[1] - 1, dtype=np.intp)
    for _ in range(max(int(running.shape[1] - 1).bit_length(), 0)):
        mid = (lo + hi) // 2
        below = running[rows, mid] < threshold
        lo = np.where(below, mid + 1, lo)
        hi = np.where(below, hi, mid)
    return lo


class _Pass:
    """Everything gtzan57 takes from the STFT, in one pass over blocks of frames.

    Each block of :data:`PASS_FRAMES` spectra is used while it is in cache: its
    power goes into the frame-major power and mel buffers, its magnitudes'
    float64 moments (centroid, bandwidth) and float32 running sums (roll-off)
    are taken, and its tuning peaks are found, with the arithmetic of
    :mod:`genrekit.features.spectral`'s functions on the whole spectrogram
    (float32 magnitudes of a float64 FFT rounded to complex64, as librosa).
    The chroma, which needs the tuning estimated over all frames, and what
    needs the window's peak (the dB scale) wait for the pass to end.
    """

    def __init__(self, y: np.ndarray, sr: int, keep_stft: bool) -> None:
        n_fft, hop = N_FFT, HOP_LENGTH
        count, n_bins = n_frames(len(y), hop), n_fft // 2 + 1
        self.power = np.empty((count, n_bins), dtype=np.float32)
        self.mel = np.empty((count, N_MELS), dtype=np.float32)
        self.stft = np.empty((count, n_bins), dtype=np.complex64) if keep_stft else None
        moments = np.empty((3, count))
        weights64 = _moment_weights(sr, n_fft)
        bands = mel_bands(sr, n_fft, N_MELS)
        band = tuning_band(sr, n_fft)
        peaks: list[tuple[np.ndarray, ...]] = []
        mag_buf = np.empty((min(PASS_FRAMES, count), n_bins), dtype=np.float32)
        running = np.empty((count, n_bins), dtype=np.float32)  # per-frame running sums of the magnitudes
        for start, spectra in _spectra(y, n_fft, hop, True, PASS_FRAMES):
            stop = start + len(spectra)
            if self.stft is not None:
                self.stft[start:stop] = spectra
            mag = np.abs(spectra, out=mag_buf[: len(spectra)])
            pw = np.multiply(mag, mag, out=self.power[start:stop])
            for first, last, lo, hi, weights in bands:
                self.mel[start:stop, first:last] = pw[:, lo:hi] @ weights
            np.matmul(weights64.T, mag.T.astype(np.float64), out=moments[:, start:stop])
            # roll-off: the first bin whose running (float32, sequential, as librosa) sum reaches 85 % of the
            # frame's; the running sum of magnitudes never decreases, so a binary search finds it (below)
            np.cumsum(mag, axis=1, out=running[start:stop])
            if band is not None:
                peaks.append(tuning_peak_bins(pw, band))
        self.tuning = 0.0
        if peaks:  # estimate_tuning(power, sr), its peaks gathered block by block
            joined = tuple(np.concatenate(part) for part in zip(*peaks))
            self.tuning = tuning_from_peaks(*refine_tuning_peaks(joined, sr, n_fft, band))
        freqs = fft_frequencies(sr, n_fft)
        # centroid and bandwidth from float64 moments (spectral_bandwidth's way; librosa's centroid sums the
        # float32 magnitudes, normalised, times float64 frequencies: equal to rounding); frames whose
        # magnitudes sum below float32 tiny are left unnormalised, as librosa does
        m0, m1, m2 = moments
        norm = np.where(m0 < _TINY32, 1.0, m0)
        self.centroid = m1 / norm
        centre = self.centroid
        self.bandwidth = np.sqrt(np.maximum((m2 - 2.0 * centre * m1 + centre * centre * m0) / norm, 0.0))
        self.rolloff = freqs[_first_reaching(running, _ROLL_PERCENT * running[:, -1])]  # spectral_rolloff
        self.sr, self.n_fft = sr, n_fft

    def chroma(self) -> np.ndarray:
        """Chromagram ``(n_frames, 12)`` at the estimated tuning, each frame scaled to peak 1 (``chroma``)."""
        raw = self.power @ chroma_filterbank(self.sr, self.n_fft, self.tuning).T
        peak = raw.max(axis=1)
        peak[peak < _TINY32] = 1.0
        return raw / peak[:, None]


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
        frames = _Pass(y, int(sr), keep_stft=self.hpss)
        parts = [
            pool(frames.chroma().ravel()),
            pool(rms(y)),
            pool(frames.centroid),
            pool(frames.bandwidth),
            pool(frames.rolloff),
            pool(_zero_crossing_rate(y)),
        ]
        if self.hpss:
            from genrekit.features.hpss import harmonic_percussive  # scipy.ndimage: only where asked for

            harmonic, percussive = harmonic_percussive(y, frames.stft)
            frames.stft = None
            parts += [pool(harmonic), pool(percussive)]
        mel_db = power_to_db(frames.mel).T  # (n_mels, n_frames) view of the frame-major buffer
        mfcc = dct_matrix(N_MFCC, N_MELS) @ mel_db.astype(np.float64)
        parts += [np.array([_beat_track_tempo(mel_db, int(sr))]), pool(mfcc)]
        return np.concatenate(parts)


__all__ = ["Gtzan57FeatureSet", "beat_track_tempo"]
