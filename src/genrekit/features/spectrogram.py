"""One short-time Fourier transform per window, and what is derived from it.

Every spectral feature of every set is computed from one :class:`Spectrogram`
of the window, built once: the STFT, its magnitude and power, the mel power
spectrogram, its dB scale and the MFCCs are cached on the object.

The numbers follow librosa's defaults exactly (``n_fft=2048``,
``hop_length=512``, periodic Hann window, ``center=True`` with zero padding,
Slaney mel filters with Slaney area normalisation, ``power_to_db`` with
``ref=1``, ``amin=1e-10``, ``top_db=80``, orthonormal DCT-II); the tests hold
them to librosa's own functions. We do not call librosa here because its
spectral functions each recompute the STFT in float64, and importing it
(scipy.signal, numba) is slow before the first window is analysed (see
``docs/results.md``).

Arrays follow librosa's orientation: ``(n_bins, n_frames)``,
``(n_mels, n_frames)``, ``(n_mfcc, n_frames)``. Underneath they are views of
frame-major buffers, so per-frame reductions stay contiguous.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import Mapping

import numpy as np

N_FFT = 2048
"""FFT size in samples (librosa's default: 93 ms at 22050 Hz)."""
HOP_LENGTH = 512
"""Samples between successive frames (librosa's default: 23 ms at 22050 Hz)."""
N_MELS = 128
"""Mel bands (librosa's default)."""
AMIN = 1e-10
"""Power floor before taking logs (librosa's ``power_to_db`` default)."""
TOP_DB = 80.0
"""Dynamic range kept by ``power_to_db`` below the window's peak, in dB."""


def as_signal(y: np.ndarray) -> np.ndarray:
    """Check and convert a mono signal to contiguous float32 ``(n_samples,)``.

    Raises ``ValueError`` for non-1-D, empty or non-finite input.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"expected a mono signal of shape (n_samples,), got shape {y.shape}")
    if y.size == 0:
        raise ValueError("the signal is empty (0 samples)")
    y = np.ascontiguousarray(y, dtype=np.float32)
    if not np.isfinite(y).all():
        raise ValueError("the signal contains NaN or infinite samples")
    return y


def check_window(y: np.ndarray, sr: int, expected_sr: int) -> np.ndarray:
    """Validate one analysis window for a feature set working at ``expected_sr`` Hz; float32 signal.

    Raises ``ValueError`` for another sample rate (the caller resamples:
    :func:`genrekit.audio.load_audio` does) and for the cases of :func:`as_signal`.
    """
    if sr != expected_sr:
        raise ValueError(
            f"this feature set works at {expected_sr} Hz but got audio at {sr} Hz; resample first "
            f"(genrekit.audio.load_audio(path, sr={expected_sr}) does)"
        )
    return as_signal(y)


def n_frames(n_samples: int, hop_length: int = HOP_LENGTH) -> int:
    """Number of centred frames librosa produces for ``n_samples`` samples."""
    return 1 + n_samples // hop_length


def frame_times(count: int, sr: int, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """Centre time of each of ``count`` centred frames, in seconds ``(count,)``."""
    return np.arange(count) * (hop_length / sr)


@lru_cache(maxsize=8)
def hann_window(length: int, double: bool = False) -> np.ndarray:
    """Periodic Hann window ``(length,)``, float32 or float64: ``scipy.signal.get_window('hann', length)``."""
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)
    if not double:
        w = w.astype(np.float32)
    w.flags.writeable = False
    return w


def fft_frequencies(sr: float, n_fft: int = N_FFT) -> np.ndarray:
    """Centre frequency of each FFT bin in Hz, ``(1 + n_fft // 2,)`` float64."""
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sr)


BLOCK_FRAMES = 128
"""Frames transformed at a time: keeps the windowed frames and their spectra in cache and
spares allocating (and the kernel zeroing) two full-size temporary arrays per window."""


def _spectra(y: np.ndarray, n_fft: int, hop_length: int, double: bool, block_frames: int | None = None):
    """Yield ``(first_frame, complex64 spectra (block, n_bins))`` block by block.

    ``block_frames`` frames at a time (default :data:`BLOCK_FRAMES`).

    Frames are centred: frame ``t`` starts at sample ``t * hop - n_fft // 2``,
    with zeros outside the signal. Only blocks that reach past either end are
    copied into a zero-padded buffer; the others are views of ``y``. The
    yielded spectra live in a buffer the next block overwrites: copy what you keep.
    """
    half = n_fft // 2
    n, count = len(y), n_frames(len(y), hop_length)
    step = int(block_frames or BLOCK_FRAMES)
    rows, n_bins = min(step, count), n_fft // 2 + 1
    if double:
        # numpy's pocketfft (the same transform as scipy.fft's, without importing scipy, ~0.3 s) into
        # reused buffers, rounded to complex64 as librosa stores it
        wide = np.empty((rows, n_bins), dtype=np.complex128)
        narrow = np.empty((rows, n_bins), dtype=np.complex64)

        def rfft(x: np.ndarray) -> np.ndarray:
            np.fft.rfft(x, axis=-1, out=wide[: len(x)])
            np.copyto(narrow[: len(x)], wide[: len(x)], casting="same_kind")
            return narrow[: len(x)]
    else:
        import scipy.fft  # numpy's float32 transform is slower than its float64 one; scipy's is faster

        def rfft(x: np.ndarray) -> np.ndarray:
            return scipy.fft.rfft(x, axis=-1, workers=1)

    window = hann_window(n_fft, double)
    buffer = np.empty((rows, n_fft), dtype=window.dtype)
    for start in range(0, count, step):
        stop = min(count, start + step)
        lo, hi = start * hop_length - half, (stop - 1) * hop_length - half + n_fft
        if lo >= 0 and hi <= n:
            segment = y[lo:hi]
        else:
            segment = np.zeros(hi - lo, dtype=y.dtype)
            segment[max(lo, 0) - lo : min(hi, n) - lo] = y[max(lo, 0) : min(hi, n)]
        block = np.lib.stride_tricks.sliding_window_view(segment, n_fft)[::hop_length]
        windowed = np.multiply(block, window, out=buffer[: stop - start])
        yield start, rfft(windowed)


def stft_frames(
    y: np.ndarray, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH, double: bool = False
) -> np.ndarray:
    """Complex STFT of ``y``, frame-major: ``(n_frames, 1 + n_fft // 2)`` complex64.

    Frames are centred (``n_fft // 2`` zeros padded on both sides, librosa's
    ``center=True, pad_mode='constant'``) and Hann-windowed. By default the
    FFT runs in float32 (measured faster); its rounding noise sits about 140 dB
    below the loudest bin. ``double=True`` computes in float64 and rounds the
    result to complex64, as librosa does: needed where near-silent bins
    matter (bandwidth of a pure tone weighs distant bins by distance squared).
    """
    y = as_signal(y)
    out = np.empty((n_frames(len(y), hop_length), n_fft // 2 + 1), dtype=np.complex64)
    for start, spectra in _spectra(y, n_fft, hop_length, double):
        out[start : start + len(spectra)] = spectra
    return out


def stft(y: np.ndarray, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH, double: bool = False) -> np.ndarray:
    """Complex STFT ``(1 + n_fft // 2, n_frames)`` complex64, equal to ``librosa.stft(y)``."""
    return stft_frames(y, n_fft, hop_length, double).T


# --- mel scale (Slaney, as librosa's htk=False) -------------------------------------------------

_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(frequencies: np.ndarray | float) -> np.ndarray:
    """Hz to Slaney mels (linear below 1 kHz, logarithmic above)."""
    f = np.asarray(frequencies, dtype=np.float64)
    mels = f / _F_SP
    log_part = f >= _MIN_LOG_HZ
    return np.where(log_part, _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP, mels)


def mel_to_hz(mels: np.ndarray | float) -> np.ndarray:
    """Slaney mels to Hz (inverse of :func:`hz_to_mel`)."""
    m = np.asarray(mels, dtype=np.float64)
    freqs = _F_SP * m
    log_part = m >= _MIN_LOG_MEL
    return np.where(log_part, _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(m, _MIN_LOG_MEL) - _MIN_LOG_MEL)), freqs)


@lru_cache(maxsize=8)
def mel_filterbank(
    sr: int, n_fft: int = N_FFT, n_mels: int = N_MELS, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Triangular Slaney-normalised mel filters ``(n_mels, 1 + n_fft // 2)`` float32.

    Same weights as ``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)``;
    built once per process and returned read-only.
    """
    if fmax is None:
        fmax = sr / 2
    fftfreqs = fft_frequencies(sr, n_fft)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    # float32 before the area normalisation, as librosa does, so the weights agree bit for bit
    weights = np.maximum(0.0, np.minimum(lower, upper)).astype(np.float32)
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    out = np.ascontiguousarray(weights * enorm[:, None], dtype=np.float32)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=8)
def mel_bands(
    sr: int, n_fft: int = N_FFT, n_mels: int = N_MELS, group: int = 16
) -> tuple[tuple[int, int, int, int, np.ndarray], ...]:
    """The mel filterbank cut into blocks of ``group`` bands and the FFT bins they touch.

    Each block is ``(first_band, stop_band, first_bin, stop_bin, weights)``
    with ``weights`` ``(stop_bin - first_bin, stop_band - first_band)``. The
    triangles are narrow, so multiplying each block over its own bins does
    an eighth of the dense product's work for the same sums.
    """
    fb = mel_filterbank(sr, n_fft, n_mels)
    blocks = []
    for first in range(0, n_mels, group):
        stop = min(n_mels, first + group)
        used = np.flatnonzero(fb[first:stop].any(axis=0))
        lo, hi = (int(used[0]), int(used[-1]) + 1) if used.size else (0, 1)
        weights = np.ascontiguousarray(fb[first:stop, lo:hi].T)
        weights.flags.writeable = False
        blocks.append((first, stop, lo, hi, weights))
    return tuple(blocks)


def mel_spectrogram(power: np.ndarray, sr: int, n_mels: int = N_MELS) -> np.ndarray:
    """Mel power spectrogram ``(n_mels, n_frames)`` float32 of a power spectrogram ``(n_bins, n_frames)``.

    Equal to ``librosa.feature.melspectrogram(S=power, sr=sr, n_mels=n_mels)``.
    """
    n_fft = 2 * (power.shape[0] - 1)
    frames = np.ascontiguousarray(power.T)
    out = np.empty((frames.shape[0], n_mels), dtype=np.float32)
    for first, stop, lo, hi, weights in mel_bands(int(sr), n_fft, n_mels):
        out[:, first:stop] = frames[:, lo:hi] @ weights
    return out.T


@lru_cache(maxsize=8)
def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """First ``n_out`` rows of the orthonormal DCT-II matrix of size ``n_in``, float64.

    ``dct_matrix(k, n) @ x`` equals ``scipy.fft.dct(x, type=2, norm='ortho', axis=0)[:k]``.
    """
    n = np.arange(n_in)
    k = np.arange(n_out)[:, None]
    m = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    m[0] /= np.sqrt(2.0)
    m.flags.writeable = False
    return m


def power_to_db(S: np.ndarray, ref: float = 1.0, amin: float = AMIN, top_db: float | None = TOP_DB) -> np.ndarray:
    """``10 log10(max(S, amin) / ref)``, floored ``top_db`` below its maximum (librosa's ``power_to_db``)."""
    log_spec = np.maximum(amin, S)
    if not isinstance(log_spec, np.ndarray) or log_spec.ndim == 0:  # a scalar: no buffer to work in
        log_spec = 10.0 * np.log10(log_spec) - 10.0 * np.log10(np.maximum(amin, abs(ref)))
        return log_spec if top_db is None else np.maximum(log_spec, log_spec - top_db)
    np.log10(log_spec, out=log_spec)  # in place, the same operations in the same precision
    log_spec *= 10.0
    offset = 10.0 * np.log10(np.maximum(amin, abs(ref)))
    if offset != 0.0:  # ref = 1: subtracting 0 changes nothing
        log_spec -= offset
    if top_db is not None:
        np.maximum(log_spec, log_spec.max() - top_db, out=log_spec)
    return log_spec


class Spectrogram:
    """The STFT of one window and the quantities every spectral feature shares.

    Parameters
    ----------
    y : mono signal ``(n_samples,)``; converted to float32.
    sr : sample rate in Hz.
    n_fft, hop_length : frame size and hop in samples.
    double : compute the FFT in float64 (see :func:`stft_frames`).
    keep_stft : also keep the complex STFT from the same pass (for HPSS);
        otherwise :attr:`stft` computes it again if asked for.
    checked : ``y`` already passed :func:`as_signal` (float32, 1-D, finite); skip the check.
    power_maps : named ``(n_out, n_bins)`` matrices applied to the power
        spectrum in the same pass (e.g. a chroma filterbank), read back with
        :meth:`power_map`; cheaper than materialising :attr:`power`.

    One pass over blocks of frames yields the magnitudes and the 128-band
    mel power; everything else derives from them on first use and is
    cached. All arrays are ``(n_bins | n_mels | n_mfcc, n_frames)`` views of
    frame-major buffers and must not be modified.
    """

    def __init__(
        self,
        y: np.ndarray,
        sr: int,
        n_fft: int = N_FFT,
        hop_length: int = HOP_LENGTH,
        double: bool = False,
        keep_stft: bool = False,
        checked: bool = False,
        power_maps: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        if sr <= 0:
            raise ValueError(f"sample rate must be positive, got {sr}")
        self.y = y if checked else as_signal(y)
        self.sr = int(sr)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.double = bool(double)
        self.keep_stft = bool(keep_stft)
        n_bins = self.n_fft // 2 + 1
        self._maps = {
            name: np.ascontiguousarray(np.asarray(m, dtype=np.float32).T) for name, m in (power_maps or {}).items()
        }
        for name, m in self._maps.items():
            if m.shape[0] != n_bins:
                raise ValueError(f"power map {name!r} must have {n_bins} columns, has {m.shape[0]}")
        self._pass: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None
        self._mapped: dict[str, np.ndarray] = {}
        self._mfcc: dict[int, np.ndarray] = {}

    @property
    def n_frames(self) -> int:
        return n_frames(len(self.y), self.hop_length)

    def _analyse(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The blocked pass: frame-major magnitudes, mel power and (if kept) complex STFT."""
        if self._pass is None:
            count, n_bins = self.n_frames, self.n_fft // 2 + 1
            magnitude = np.empty((count, n_bins), dtype=np.float32)
            mel = np.empty((count, N_MELS), dtype=np.float32)
            complex_frames = np.empty((count, n_bins), dtype=np.complex64) if self.keep_stft else None
            mapped = {name: np.empty((count, m.shape[1]), dtype=np.float32) for name, m in self._maps.items()}
            bands = mel_bands(self.sr, self.n_fft, N_MELS)
            power = np.empty((min(BLOCK_FRAMES, count), n_bins), dtype=np.float32)
            for start, spectra in _spectra(self.y, self.n_fft, self.hop_length, self.double):
                stop = start + len(spectra)
                if complex_frames is not None:
                    complex_frames[start:stop] = spectra
                mag = np.abs(spectra, out=magnitude[start:stop])
                pw = np.multiply(mag, mag, out=power[: len(spectra)])
                for first, last, lo, hi, weights in bands:
                    mel[start:stop, first:last] = pw[:, lo:hi] @ weights
                for name, m in self._maps.items():
                    np.matmul(pw, m, out=mapped[name][start:stop])
            self._mapped = mapped
            self._pass = (magnitude, mel, complex_frames)
        return self._pass

    @cached_property
    def stft(self) -> np.ndarray:
        """Complex STFT ``(n_bins, n_frames)`` complex64."""
        kept = self._analyse()[2] if self.keep_stft else None
        if kept is None:
            kept = stft_frames(self.y, self.n_fft, self.hop_length, self.double)
        return kept.T

    @property
    def magnitude(self) -> np.ndarray:
        """``|STFT|`` ``(n_bins, n_frames)`` float32."""
        return self._analyse()[0].T

    @cached_property
    def power(self) -> np.ndarray:
        """``|STFT|**2`` ``(n_bins, n_frames)`` float32."""
        return np.square(self.magnitude)

    @cached_property
    def frequencies(self) -> np.ndarray:
        """Bin centre frequencies in Hz ``(n_bins,)``."""
        return fft_frequencies(self.sr, self.n_fft)

    @property
    def mel_power(self) -> np.ndarray:
        """Mel power spectrogram ``(128, n_frames)`` float32 (``librosa.feature.melspectrogram``)."""
        return self._analyse()[1].T

    def power_map(self, name: str) -> np.ndarray:
        """The ``power_maps[name]`` matrix times the power spectrogram, ``(n_out, n_frames)`` float32."""
        if name not in self._maps:
            raise KeyError(f"no power map {name!r}; pass it to Spectrogram(power_maps=...)")
        self._analyse()
        return self._mapped[name].T

    @cached_property
    def mel_db(self) -> np.ndarray:
        """Mel power in dB re 1.0, floored 80 dB below the window's peak ``(128, n_frames)``."""
        return power_to_db(self.mel_power)

    def mfcc(self, n_mfcc: int = 20) -> np.ndarray:
        """MFCCs ``(n_mfcc, n_frames)`` float64, equal to ``librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc)``.

        The DCT runs in float64 (a small product), so a constant spectrum
        (silence) gives coefficients 2.. of 0 rather than float32 rounding noise.
        """
        if n_mfcc not in self._mfcc:
            mel_db = self.mel_db
            self._mfcc[n_mfcc] = dct_matrix(n_mfcc, mel_db.shape[0]) @ mel_db.astype(np.float64)
        return self._mfcc[n_mfcc]


def mel_db(y: np.ndarray, sr: int) -> np.ndarray:
    """Log-mel spectrogram ``(128, n_frames)`` in dB re 1.0 (top 80 dB), librosa's defaults."""
    return Spectrogram(y, sr).mel_db


def mfcc(y: np.ndarray, sr: int, n_mfcc: int = 20) -> np.ndarray:
    """MFCCs ``(n_mfcc, n_frames)``, equal to ``librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc)``."""
    return Spectrogram(y, sr).mfcc(n_mfcc)


__all__ = [
    "AMIN",
    "HOP_LENGTH",
    "N_FFT",
    "N_MELS",
    "TOP_DB",
    "Spectrogram",
    "as_signal",
    "check_window",
    "dct_matrix",
    "fft_frequencies",
    "frame_times",
    "hann_window",
    "hz_to_mel",
    "mel_db",
    "mel_bands",
    "mel_filterbank",
    "mel_spectrogram",
    "mel_to_hz",
    "mfcc",
    "n_frames",
    "power_to_db",
    "stft",
    "stft_frames",
]
