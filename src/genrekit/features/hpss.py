"""Harmonic/percussive separation by median filtering, back to waveforms.

``harmonic_percussive(y)`` gives the two waveforms ``librosa.effects.hpss(y)``
gives (kernel 31, power-2 soft masks), starting from the shared STFT and
inverting it with a plain-numpy overlap-add instead of librosa's numba-jitted
one. Median filtering two 1025 x 1300 spectrograms is slow (timings in
``docs/results.md``), which is why the ``gtzan57`` set can leave it out.
"""

from __future__ import annotations

import numpy as np

from genrekit.features.spectrogram import HOP_LENGTH, N_FFT, hann_window, stft_frames


def _softmask(x: np.ndarray, x_ref: np.ndarray, power: float = 2.0) -> np.ndarray:
    """``x**p / (x**p + x_ref**p)``, 0.5 where both are below float32 ``tiny`` (librosa's ``split_zeros``)."""
    z = np.maximum(x, x_ref)
    bad = z < np.finfo(z.dtype).tiny
    z[bad] = 1
    mask = (x / z) ** power
    ref_mask = (x_ref / z) ** power
    good = ~bad
    mask[good] /= mask[good] + ref_mask[good]
    mask[bad] = 0.5
    return mask


def hpss_frames(frames: np.ndarray, kernel_size: int = 31, power: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Split a frame-major complex STFT ``(n_frames, n_bins)`` into harmonic and percussive STFTs.

    Harmonic energy is smooth along time, percussive along frequency: each
    bin's magnitude is median-filtered both ways (``kernel_size`` frames or
    bins, reflected at the edges) and soft masks share the energy out.
    """
    from scipy.ndimage import median_filter

    mag = np.abs(frames)
    zeros = mag == 0
    nonzero = mag + zeros
    phase = np.empty_like(frames)
    phase.real = frames.real / nonzero + zeros
    phase.imag = frames.imag / nonzero
    harm = median_filter(mag, size=(kernel_size, 1), mode="reflect")
    perc = median_filter(mag, size=(1, kernel_size), mode="reflect")
    mask_harm = _softmask(harm, perc, power)
    mask_perc = _softmask(perc, harm, power)
    return (mag * mask_harm) * phase, (mag * mask_perc) * phase


def istft_frames(frames: np.ndarray, length: int, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """Invert a centred, Hann-windowed, frame-major STFT to ``length`` samples, float32.

    Windowed overlap-add divided by the summed squared window, as
    ``librosa.istft(..., length=length)``. Needs ``hop_length`` to divide ``n_fft``.
    """
    import scipy.fft

    if n_fft % hop_length:
        raise ValueError("istft_frames needs hop_length to divide n_fft")
    k = n_fft // hop_length
    count = frames.shape[0]
    window = hann_window(n_fft)
    blocks = (scipy.fft.irfft(frames, n=n_fft, axis=1, workers=1) * window).reshape(count, k, hop_length)
    out = np.zeros((count + k - 1, hop_length), dtype=np.float32)
    norm = np.zeros_like(out)
    win_sq = (window.astype(np.float64) ** 2).astype(np.float32).reshape(k, hop_length)
    for j in range(k):
        out[j : j + count] += blocks[:, j]
        norm[j : j + count] += win_sq[j]
    y = out.ravel()[n_fft // 2 : n_fft // 2 + length]
    envelope = norm.ravel()[n_fft // 2 : n_fft // 2 + length]
    y = np.pad(y, (0, length - len(y)))
    envelope = np.pad(envelope, (0, length - len(envelope)))
    nonzero = envelope > np.finfo(np.float32).tiny
    y[nonzero] /= envelope[nonzero]
    return y


def harmonic_percussive(y: np.ndarray, frames: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic and percussive waveforms of ``y``, each ``(len(y),)`` float32 (``librosa.effects.hpss(y)``).

    ``frames`` is ``y``'s frame-major STFT if already computed.
    """
    if frames is None:
        frames = stft_frames(y)
    harm, perc = hpss_frames(frames)
    return istft_frames(harm, len(y)), istft_frames(perc, len(y))


__all__ = ["harmonic_percussive", "hpss_frames", "istft_frames"]
