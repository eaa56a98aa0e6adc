"""Per-frame features: time-domain (ZCR, RMS) and spectral (from one STFT).

Each function reproduces the librosa feature of the same name at librosa's
defaults (frame 2048, hop 512, centred frames) but takes the shared
spectrogram instead of recomputing an STFT, and avoids librosa's numba-jitted
helpers (``zero_crossings``, ``localmax``, parabolic interpolation), so the
first call in a fresh process costs no compilation. Spectral inputs are
``(n_bins, n_frames)`` arrays as in librosa; every result is one value per
frame, ``(n_frames,)`` (librosa returns ``(1, n_frames)``), or
``(n_rows, n_frames)`` for chroma and contrast.

Silent frames give finite values: centroid, bandwidth and roll-off 0 Hz (as
librosa), ZCR 0, RMS 0, flatness 1 (``amin`` everywhere: a flat spectrum),
chroma 0, contrast 0 dB.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from genrekit.features.spectrogram import HOP_LENGTH, N_FFT, as_signal, fft_frequencies, n_frames, power_to_db

ZC_THRESHOLD = np.float32(1e-10)
"""Samples with ``|x| <= ZC_THRESHOLD`` count as zero, and zero counts as positive (librosa)."""

_TINY32 = np.finfo(np.float32).tiny


def _frame_sums(x: np.ndarray, frame_length: int, hop_length: int, count: int, dtype: type = np.float64) -> np.ndarray:
    """``sum(x[t*hop : t*hop + frame_length])`` for ``t < count``, ``(count,)`` of ``dtype``.

    When the hop divides the frame, sums of hop-long blocks are added up
    (exact zeros stay zero, no cumulative-sum cancellation); otherwise a
    cumulative sum is used.
    """
    if frame_length % hop_length == 0:
        k = frame_length // hop_length
        n_blocks = count - 1 + k
        need = n_blocks * hop_length
        if len(x) < need:
            x = np.pad(x, (0, need - len(x)))
        blocks = x[:need].reshape(n_blocks, hop_length).sum(axis=1, dtype=dtype)
        total = blocks[:count].copy()
        for j in range(1, k):
            total += blocks[j : j + count]
        return total
    csum = np.concatenate(([0], np.cumsum(x, dtype=dtype)))
    starts = np.arange(count) * hop_length
    return csum[starts + frame_length] - csum[starts]


def zero_crossing_rate(y: np.ndarray, frame_length: int = N_FFT, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """Share of sample pairs in each frame whose signs differ, ``(n_frames,)`` in [0, 1).

    As ``librosa.feature.zero_crossing_rate(y)``: frames are centred with edge
    padding; samples with ``|x| <= 1e-10`` count as zero and zero as
    positive; a frame of ``L`` samples has ``L - 1`` pairs but the count is
    divided by ``L``.
    """
    return _zero_crossing_rate(as_signal(y), frame_length, hop_length)


def _zero_crossing_rate(y: np.ndarray, frame_length: int = N_FFT, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """:func:`zero_crossing_rate` of a signal already checked by ``as_signal``."""
    n = len(y)
    count = n_frames(n, hop_length)
    half = frame_length // 2
    negative = y < -ZC_THRESHOLD
    # crossing[i]: padded samples i-1 and i differ in sign. Edge padding repeats the end samples,
    # so crossings only occur inside y, at padded positions half+1 .. half+n-1.
    crossing = np.zeros(n + 2 * half, dtype=np.uint8)
    np.not_equal(negative[1:], negative[:-1], out=crossing[half + 1 : half + n].view(bool))
    sums = _frame_sums(crossing, frame_length, hop_length, count, dtype=np.int64)
    # a frame's first sample pairs with the sample before the frame: not counted
    sums -= crossing[: (count - 1) * hop_length + 1 : hop_length]
    return sums / frame_length


def rms(y: np.ndarray, frame_length: int = N_FFT, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """Root mean square of each centred, zero-padded frame, ``(n_frames,)`` (``librosa.feature.rms(y=y)``)."""
    y = as_signal(y)
    count = n_frames(len(y), hop_length)
    half = frame_length // 2
    squares = np.zeros(len(y) + 2 * half, dtype=np.float32)
    np.square(y, out=squares[half : half + len(y)])
    return np.sqrt(_frame_sums(squares, frame_length, hop_length, count) / frame_length)


def _norm1(S: np.ndarray) -> np.ndarray:
    """Per-frame sum of ``S`` with librosa's guard: sums below float32 ``tiny`` become 1."""
    total = S.sum(axis=0, dtype=np.float64)
    total[total < _TINY32] = 1.0
    return total


def spectral_centroid(S: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Magnitude-weighted mean frequency of each frame in Hz, ``(n_frames,)``.

    ``S`` is a magnitude spectrogram ``(n_bins, n_frames)``, ``freqs`` its bin
    frequencies. A silent frame has centroid 0 (librosa leaves it unnormalised).
    """
    weights = np.stack([np.ones(len(freqs)), freqs], axis=1).astype(np.float32)
    sums = (np.ascontiguousarray(S.T) @ weights).astype(np.float64)  # one float32 product: (total, weighted)
    total = sums[:, 0]
    total[total < _TINY32] = 1.0
    return sums[:, 1] / total


def spectral_bandwidth(S: np.ndarray, freqs: np.ndarray, centroid: np.ndarray | None = None) -> np.ndarray:
    """Second-order spectral bandwidth in Hz, ``(n_frames,)`` (librosa's ``p=2``, ``norm=True``).

    ``sqrt(sum_f S_norm(f) (f - centroid)^2)``, computed from float64 moments
    of ``S`` instead of a full deviation matrix.
    """
    S64 = S.astype(np.float64)
    f = freqs.astype(np.float64)
    m0, m1, m2 = np.stack([np.ones_like(f), f, f * f]) @ S64
    norm = _norm1(S)
    if centroid is None:
        centroid = m1 / norm
    var = (m2 - 2.0 * centroid * m1 + centroid * centroid * m0) / norm
    return np.sqrt(np.maximum(var, 0.0))


def spectral_rolloff(S: np.ndarray, freqs: np.ndarray, roll_percent: float = 0.85) -> np.ndarray:
    """Lowest bin frequency below which ``roll_percent`` of each frame's magnitude lies, Hz ``(n_frames,)``."""
    if not 0.0 < roll_percent < 1.0:
        raise ValueError("roll_percent must lie in the range (0, 1)")
    total = np.cumsum(np.ascontiguousarray(S.T), axis=1)  # float32, sequential like librosa
    threshold = roll_percent * total[:, -1:]
    index = np.argmax(total >= threshold, axis=1)
    return freqs[index].astype(np.float64)


def spectral_flatness(power: np.ndarray, amin: float = 1e-10) -> np.ndarray:
    """Geometric over arithmetic mean of each frame's power spectrum, ``(n_frames,)`` in (0, 1].

    ``power`` is ``|STFT|**2`` (librosa's ``spectral_flatness`` with ``power=2``).
    """
    floored = np.maximum(np.float32(amin), np.ascontiguousarray(power.T))
    gmean = np.exp(np.mean(np.log(floored), axis=1))
    amean = np.mean(floored, axis=1)
    return (gmean / amean).astype(np.float64)


@lru_cache(maxsize=8)
def _contrast_bands(
    sr: int, n_fft: int, fmin: float, n_bands: int, quantile: float
) -> tuple[tuple[int, int, int], ...]:
    """``(first_bin, stop_bin, n_extreme)`` per octave band, exactly as librosa selects them."""
    freq = fft_frequencies(sr, n_fft)
    octa = np.zeros(n_bands + 2)
    octa[1:] = fmin * (2.0 ** np.arange(0, n_bands + 1))
    if np.any(octa[:-1] >= 0.5 * sr):
        raise ValueError("spectral contrast band exceeds Nyquist; reduce fmin or n_bands")
    bands = []
    for k, (f_low, f_high) in enumerate(zip(octa[:-1], octa[1:])):
        current = (freq >= f_low) & (freq <= f_high)
        idx = np.flatnonzero(current)
        if k > 0:
            current[idx[0] - 1] = True
        if k == n_bands:
            current[idx[-1] + 1 :] = True
        sel = np.flatnonzero(current)
        first, stop = int(sel[0]), int(sel[-1]) + 1
        n_extreme = max(int(np.rint(quantile * len(sel))), 1)
        if k < n_bands:
            stop -= 1
        bands.append((first, stop, n_extreme))
    return tuple(bands)


def spectral_contrast(
    S: np.ndarray, sr: int, fmin: float = 200.0, n_bands: int = 6, quantile: float = 0.02, amin: float = 1e-10
) -> np.ndarray:
    """Peak-to-valley level difference per octave band in dB, ``(n_bands + 1, n_frames)``.

    As ``librosa.feature.spectral_contrast(S=S, sr=sr)``: peak and valley are
    the means of the top and bottom ``quantile`` of each band's magnitudes;
    bands are sorted frame-major (numpy's vectorised sort beats a partial sort here).
    ``amin`` floors peak and valley before the dB conversion (librosa: 1e-10).
    """
    n_fft = 2 * (S.shape[0] - 1)
    frames_major = np.ascontiguousarray(S.T)
    bands = _contrast_bands(int(sr), n_fft, float(fmin), int(n_bands), float(quantile))
    valley = np.zeros((len(bands), S.shape[1]))
    peak = np.zeros_like(valley)
    for k, (first, stop, q) in enumerate(bands):
        ordered = np.sort(frames_major[:, first:stop], axis=1)
        valley[k] = ordered[:, :q].mean(axis=1)
        peak[k] = ordered[:, -q:].mean(axis=1)
    return power_to_db(peak, amin=amin) - power_to_db(valley, amin=amin)


# --- chroma ---------------------------------------------------------------------------------------


@lru_cache(maxsize=128)
def chroma_filterbank(sr: int, n_fft: int = N_FFT, tuning: float = 0.0, n_chroma: int = 12) -> np.ndarray:
    """Chroma filters ``(n_chroma, 1 + n_fft // 2)`` float32, as ``librosa.filters.chroma``.

    Gaussian bumps around each pitch class, column L2-normalised, weighted by
    a Gaussian over octaves centred on octave 5 (``ctroct=5, octwidth=2``),
    rows starting at C. Read-only; cached per ``tuning``.
    """
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    frqbins = n_chroma * np.log2(frequencies / (a440 / 16))
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidthbins = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1]))
    D = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype="d")).T
    n_chroma2 = np.round(float(n_chroma) / 2)
    D = np.remainder(D + n_chroma2 + 10 * n_chroma, n_chroma) - n_chroma2
    wts = np.exp(-0.5 * (2 * D / np.tile(binwidthbins, (n_chroma, 1))) ** 2)
    length = np.sqrt(np.sum(wts**2, axis=0, keepdims=True))
    length[length < np.finfo(np.float64).tiny] = 1.0
    wts = wts / length
    wts *= np.tile(np.exp(-0.5 * (((frqbins / n_chroma - 5.0) / 2.0) ** 2)), (n_chroma, 1))
    wts = np.roll(wts, -3 * (n_chroma // 12), axis=0)
    out = np.ascontiguousarray(wts[:, : int(1 + n_fft / 2)], dtype=np.float32)
    out.flags.writeable = False
    return out


def chroma(power: np.ndarray, sr: int, tuning: float = 0.0, n_chroma: int = 12) -> np.ndarray:
    """Chromagram ``(n_chroma, n_frames)``: each frame scaled so its largest pitch class is 1.

    ``librosa.feature.chroma_stft(S=power, sr=sr, tuning=tuning)``; silent frames stay 0.
    """
    n_fft = 2 * (power.shape[0] - 1)
    return normalize_chroma(chroma_filterbank(int(sr), n_fft, float(tuning), n_chroma) @ power)


def normalize_chroma(raw: np.ndarray) -> np.ndarray:
    """Scale each frame (column) of a raw chromagram to peak 1; frames below float32 ``tiny`` stay as they are."""
    peak = raw.max(axis=0)
    peak[peak < _TINY32] = 1.0
    return raw / peak


def _parabolic_shift(x: np.ndarray) -> np.ndarray:
    """Offset of the parabola through each bin and its neighbours along axis 0 (librosa's stencil)."""
    # numba evaluates the stencil with float32 sums promoted to float64: mirror that rounding
    shift = np.zeros_like(x)
    a = (x[2:] + x[:-2]).astype(np.float64) - 2.0 * x[1:-1].astype(np.float64)
    b = (x[2:] - x[:-2]).astype(np.float64) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = np.where(np.abs(b) >= np.abs(a), 0.0, -b / a)
    shift[1:-1] = inner
    return shift


def _local_max(x: np.ndarray) -> np.ndarray:
    """``x[i] > x[i-1] and x[i] >= x[i+1]`` along axis 0; first row never, last row if above its neighbour."""
    out = np.zeros(x.shape, dtype=bool)
    out[1:-1] = (x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:])
    out[-1] = x[-1] > x[-2]
    return out


def estimate_tuning(
    S: np.ndarray, sr: int, fmin: float = 150.0, fmax: float = 4000.0, threshold: float = 0.1, resolution: float = 0.01
) -> float:
    """Deviation of the recording's tuning from A440, in fractions of a semitone [-0.5, 0.5).

    ``librosa.estimate_tuning(S=S, sr=sr)`` (``piptrack`` peaks above 10 % of
    each frame's maximum between 150 Hz and 4 kHz, then a 0.01-semitone
    histogram), in plain numpy. Returns 0.0 when no peak is found.
    """
    S = np.abs(S)
    n_fft = 2 * (S.shape[0] - 1)
    fft_freqs = fft_frequencies(sr, n_fft)
    freq_mask = (max(fmin, 0) <= fft_freqs) & (fft_freqs < min(fmax, sr / 2))
    if not freq_mask.any():
        return 0.0
    ref_value = threshold * np.max(S, axis=0, keepdims=True)
    # only bins in [fmin, fmax) can hold a peak: work on them plus one neighbour each side
    first = max(int(np.argmax(freq_mask)) - 1, 0)
    stop = min(int(len(freq_mask) - np.argmax(freq_mask[::-1])) + 1, len(freq_mask))
    band = S[first:stop]
    avg = np.gradient(band, axis=0) if band.shape[0] > 1 else np.zeros_like(band)
    shift = _parabolic_shift(band) if band.shape[0] > 2 else np.zeros_like(band)
    dskew = 0.5 * avg * shift
    peaks = _local_max(band * (band > ref_value)) if band.shape[0] > 1 else np.zeros(band.shape, bool)
    rows, cols = np.nonzero(freq_mask[first:stop, None] & peaks)
    pitch = ((rows + first + shift[rows, cols]) * float(sr) / n_fft).astype(S.dtype)
    mag = band[rows, cols] + dskew[rows, cols]
    positive = pitch > 0
    mag_threshold = np.median(mag[positive]) if positive.any() else 0.0
    freqs = pitch[(mag >= mag_threshold) & positive]
    freqs = freqs[freqs > 0]
    if not freqs.size:
        return 0.0
    residual = np.mod(12 * np.log2(freqs / (float(440.0) / 16)), 1.0)
    residual[residual >= 0.5] -= 1.0
    bins = np.linspace(-0.5, 0.5, int(np.ceil(1.0 / resolution)) + 1)
    counts, edges = np.histogram(residual, bins)
    return float(edges[np.argmax(counts)])


__all__ = [
    "ZC_THRESHOLD",
    "chroma",
    "chroma_filterbank",
    "estimate_tuning",
    "normalize_chroma",
    "rms",
    "spectral_bandwidth",
    "spectral_centroid",
    "spectral_contrast",
    "spectral_flatness",
    "spectral_rolloff",
    "zero_crossing_rate",
]
