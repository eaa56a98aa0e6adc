"""One short-time Fourier transform per window, and what is derived from it.

Every spectral feature of every set is computed from one :class:`Spectrogram`
of the window, built once: the STFT, its magnitude and power, the mel power
spectrogram, its dB scale and the MFCCs are cached on the object.

The numbers follow librosa's defaults exactly (``n_fft=2048``,
``hop_length=512``, periodic Hann window, ``center=True`` with zero padding,
Slaney mel filters with Slaney area normalisation, ``power_to_db`` with
``ref=1``, ``amin=1e-10``, ``top_db=80``, orthonormal DCT-II); the tests hold
them to librosa's own functions. We do not call librosa here because its
spectral functions each recompute the STFT in float64, and importing it costs
more than a second (scipy.signal, numba) before the first window is analysed.

Arrays follow librosa's orientation: ``(n_bins, n_frames)``,
``(n_mels, n_frames)``, ``(n_mfcc, n_frames)``. Underneath they are views of
frame-major buffers, so per-frame reductions stay contiguous.
"""

from __future__ import annotations

from functools import cached_property, lru_cache

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
def hann_window(length: int) -> np.ndarray:
    """Periodic Hann window ``(length,)`` float32, as ``scipy.signal.get_window('hann', length)``."""
    w = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)).astype(np.float32)
    w.flags.writeable = False
    return w


def fft_frequencies(sr: float, n_fft: int = N_FFT) -> np.ndarray:
    """Centre frequency of each FFT bin in Hz, ``(1 + n_fft // 2,)`` float64."""
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sr)


def stft_frames(y: np.ndarray, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """Complex STFT of ``y``, frame-major: ``(n_frames, 1 + n_fft // 2)`` complex64.

    Frames are centred (``n_fft // 2`` zeros padded on both sides, librosa's
    ``center=True, pad_mode='constant'``) and Hann-windowed.
    """
    return _stft_frames(as_signal(y), n_fft, hop_length)


def _stft_frames(y: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """:func:`stft_frames` of an already validated float32 signal."""
    import scipy.fft

    half = n_fft // 2
    padded = np.pad(y, (half, half))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length]
    windowed = np.multiply(frames, hann_window(n_fft))
    return scipy.fft.rfft(windowed, axis=-1, workers=1)


def stft(y: np.ndarray, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """Complex STFT ``(1 + n_fft // 2, n_frames)`` complex64, equal to ``librosa.stft(y)``."""
    return stft_frames(y, n_fft, hop_length).T


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
def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """First ``n_out`` rows of the orthonormal DCT-II matrix of size ``n_in``, float32.

    ``dct_matrix(k, n) @ x`` equals ``scipy.fft.dct(x, type=2, norm='ortho', axis=0)[:k]``.
    """
    n = np.arange(n_in)
    k = np.arange(n_out)[:, None]
    m = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    m[0] /= np.sqrt(2.0)
    out = m.astype(np.float32)
    out.flags.writeable = False
    return out


def power_to_db(S: np.ndarray, ref: float = 1.0, amin: float = AMIN, top_db: float | None = TOP_DB) -> np.ndarray:
    """``10 log10(max(S, amin) / ref)``, floored ``top_db`` below its maximum (librosa's ``power_to_db``)."""
    log_spec = 10.0 * np.log10(np.maximum(amin, S))
    log_spec -= 10.0 * np.log10(np.maximum(amin, abs(ref)))
    if top_db is not None:
        log_spec = np.maximum(log_spec, log_spec.max() - top_db)
    return log_spec


class Spectrogram:
    """The STFT of one window and the quantities every spectral feature shares.

    Parameters
    ----------
    y : mono signal ``(n_samples,)``; converted to float32.
    sr : sample rate in Hz.
    n_fft, hop_length : frame size and hop in samples.

    Each property is computed on first use and cached; all arrays are
    ``(n_bins | n_mels | n_mfcc, n_frames)`` and must not be modified.
    """

    def __init__(self, y: np.ndarray, sr: int, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH) -> None:
        if sr <= 0:
            raise ValueError(f"sample rate must be positive, got {sr}")
        self.y = as_signal(y)
        self.sr = int(sr)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self._mfcc: dict[int, np.ndarray] = {}

    @property
    def n_frames(self) -> int:
        return n_frames(len(self.y), self.hop_length)

    @cached_property
    def stft(self) -> np.ndarray:
        """Complex STFT ``(n_bins, n_frames)`` complex64."""
        return _stft_frames(self.y, self.n_fft, self.hop_length).T

    @cached_property
    def magnitude(self) -> np.ndarray:
        """``|STFT|`` ``(n_bins, n_frames)`` float32."""
        return np.abs(self.stft)

    @cached_property
    def power(self) -> np.ndarray:
        """``|STFT|**2`` ``(n_bins, n_frames)`` float32."""
        return np.square(self.magnitude)

    @cached_property
    def frequencies(self) -> np.ndarray:
        """Bin centre frequencies in Hz ``(n_bins,)``."""
        return fft_frequencies(self.sr, self.n_fft)

    @cached_property
    def mel_power(self) -> np.ndarray:
        """Mel power spectrogram ``(128, n_frames)`` float32 (``librosa.feature.melspectrogram``)."""
        return mel_filterbank(self.sr, self.n_fft) @ self.power

    @cached_property
    def mel_db(self) -> np.ndarray:
        """Mel power in dB re 1.0, floored 80 dB below the window's peak ``(128, n_frames)``."""
        return power_to_db(self.mel_power)

    def mfcc(self, n_mfcc: int = 20) -> np.ndarray:
        """MFCCs ``(n_mfcc, n_frames)`` float32, equal to ``librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc)``."""
        if n_mfcc not in self._mfcc:
            mel_db = self.mel_db
            self._mfcc[n_mfcc] = dct_matrix(n_mfcc, mel_db.shape[0]) @ mel_db
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
    "mel_filterbank",
    "mel_to_hz",
    "mfcc",
    "n_frames",
    "power_to_db",
    "stft",
    "stft_frames",
]
