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
    # librosa builds all n_fft columns and keeps the first 1 + n_fft / 2. Every step works column by
    # column (a column's width needs the next column's bin), so the kept columns plus one give the same.
    n_bins = int(1 + n_fft / 2)
    keep = min(n_bins + 1, n_fft)
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:keep]
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
    out = np.ascontiguousarray(wts[:, :n_bins], dtype=np.float32)
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


@lru_cache(maxsize=16)
def tuning_band(sr: int, n_fft: int, fmin: float = 150.0, fmax: float = 4000.0) -> tuple[int, int, np.ndarray] | None:
    """``(first, stop, mask)``: the bins :func:`estimate_tuning` looks at, ``None`` when there are none.

    ``first:stop`` are the bins in ``[fmin, min(fmax, sr / 2))`` plus one neighbour each
    side (the peak test and the parabola need them); ``mask`` marks, within that
    range, the bins that may hold a peak. Read-only.
    """
    fft_freqs = fft_frequencies(sr, n_fft)
    freq_mask = (max(fmin, 0) <= fft_freqs) & (fft_freqs < min(fmax, sr / 2))
    if not freq_mask.any():
        return None
    first = max(int(np.argmax(freq_mask)) - 1, 0)
    stop = min(int(len(freq_mask) - np.argmax(freq_mask[::-1])) + 1, len(freq_mask))
    mask = freq_mask[first:stop].copy()
    mask.flags.writeable = False
    return first, stop, mask


def tuning_peak_bins(
    frames: np.ndarray, band: tuple[int, int, np.ndarray], threshold: float = 0.1
) -> tuple[np.ndarray, ...]:
    """``librosa.piptrack``'s peaks in some frames, before refinement: ``(bin, left, value, right)`` per peak.

    ``frames`` is ``(n_frames, n_bins)``, non-negative, frame-major; ``band`` is
    :func:`tuning_band`'s. A peak is a bin of the mask above ``threshold`` times
    its frame's maximum and a local maximum over the bins (``x[i] > x[i-1]`` and
    ``x[i] >= x[i+1]``); ``bin`` counts from the band's first bin, ``left`` and
    ``right`` are the neighbours' values (the value itself at the band's ends).
    Frames are independent, so blocks of frames give the peaks of the whole in
    pieces; :func:`refine_tuning_peaks` turns them (concatenated) into pitches.
    """
    first, stop, mask = band
    x = frames[:, first:stop]
    nb = x.shape[1]
    if nb < 2 or x.shape[0] == 0:
        none = np.zeros(0, dtype=np.intp)
        return none, x[none, none], x[none, none], x[none, none]
    ref_value = threshold * np.max(frames, axis=1, keepdims=True)
    # librosa tests z[i] > z[i-1] and z[i] >= z[i+1] on z = x * (x > ref). As z >= 0, a peak has
    # z[i] = x[i] > ref, and then each test on z holds exactly when the same test on x does
    # (a neighbour at or below ref is below x[i] either way): the tests run on x directly.
    # Only bins in the mask can hold a peak (a contiguous run); the first bin of the band never
    # does, the last one when it beats its left neighbour.
    in_mask = np.flatnonzero(mask)
    lo, hi = max(int(in_mask[0]), 1), min(int(in_mask[-1]) + 1, nb - 1)
    found_r, found_c = [], []
    if hi > lo:
        here = x[:, lo:hi]
        peaks = here > ref_value
        peaks &= here > x[:, lo - 1 : hi - 1]
        peaks &= here >= x[:, lo + 1 : hi + 1]
        flat = np.flatnonzero(peaks)
        found_r.append(flat // (hi - lo))
        found_c.append(flat % (hi - lo) + lo)
    if mask[nb - 1]:
        last = np.flatnonzero((x[:, nb - 1] > ref_value[:, 0]) & (x[:, nb - 1] > x[:, nb - 2]))
        found_r.append(last)
        found_c.append(np.full(len(last), nb - 1, dtype=np.intp))
    rows = np.concatenate(found_r) if len(found_r) > 1 else found_r[0]
    cols = np.concatenate(found_c) if len(found_c) > 1 else found_c[0]
    return cols, x[rows, np.maximum(cols - 1, 0)], x[rows, cols], x[rows, np.minimum(cols + 1, nb - 1)]


def refine_tuning_peaks(
    peak_bins: tuple[np.ndarray, ...], sr: int, n_fft: int, band: tuple[int, int, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """``(pitch Hz, magnitude)`` of each peak of :func:`tuning_peak_bins`, refined by the parabola through
    it and its neighbours, with librosa's (numba's) arithmetic: float32 sums promoted to float64 for the
    shift, float32 otherwise (the parabola and ``np.gradient`` are evaluated at the peaks only)."""
    cols, left, here, right = peak_bins
    first, stop, _ = band
    nb = stop - first
    dtype = here.dtype
    # np.gradient: central difference inside, one-sided at the ends of the band
    interior = (cols > 0) & (cols < nb - 1)
    avg = np.where(interior, (right - left) / dtype.type(2.0), right - left)
    shift = np.zeros(len(cols), dtype=dtype)
    if nb > 2:
        a = (right + left).astype(np.float64) - 2.0 * here.astype(np.float64)
        b = (right - left).astype(np.float64) / 2.0
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = np.where(np.abs(b) >= np.abs(a), 0.0, -b / a)
        shift[:] = np.where(interior, inner, 0.0)
    dskew = 0.5 * avg * shift
    pitch = ((cols + first + shift) * float(sr) / n_fft).astype(dtype)
    return pitch, here + dskew


def median(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """``np.median(x, axis)`` of finite ``x`` (at least one value along ``axis``), without its NaN check.

    The same order statistics and the same mean of the two middle values in
    ``x``'s precision; ``np.median``'s NaN check imports ``numpy.ma`` (~30 ms
    on first use) and partitions once more. Falls back to ``np.median`` where ``x`` holds NaN.
    """
    x = np.asarray(x)
    n = x.shape[axis]
    if n == 0 or x.dtype.kind != "f" or np.isnan(x).any():
        return np.median(x, axis=axis)
    half = n // 2
    if n % 2:
        return np.take(np.partition(x, half, axis=axis), half, axis=axis)
    part = np.partition(x, [half - 1, half], axis=axis)
    return (np.take(part, half - 1, axis=axis) + np.take(part, half, axis=axis)) / 2


def tuning_from_peaks(pitch: np.ndarray, mag: np.ndarray, resolution: float = 0.01) -> float:
    """``librosa.estimate_tuning``'s histogram over peaks (:func:`tuning_peaks`): the tuning, 0.0 without peaks."""
    positive = pitch > 0
    mag_threshold = median(mag[positive]) if positive.any() else 0.0
    freqs = pitch[(mag >= mag_threshold) & positive]
    freqs = freqs[freqs > 0]
    if not freqs.size:
        return 0.0
    residual = np.mod(12 * np.log2(freqs / (float(440.0) / 16)), 1.0)
    residual[residual >= 0.5] -= 1.0
    bins = np.linspace(-0.5, 0.5, int(np.ceil(1.0 / resolution)) + 1)
    counts, edges = np.histogram(residual, bins)
    return float(edges[np.argmax(counts)])


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
    band = tuning_band(int(sr), n_fft, float(fmin), float(fmax))
    if band is None:
        return 0.0
    peaks = tuning_peak_bins(S.T, band, threshold)
    return tuning_from_peaks(*refine_tuning_peaks(peaks, sr, n_fft, band), resolution)


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
    "median",
    "refine_tuning_peaks",
    "tuning_band",
    "tuning_from_peaks",
    "tuning_peak_bins",
    "zero_crossing_rate",
]
