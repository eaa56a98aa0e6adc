"""Onset strength and global tempo from a log-mel spectrogram.

Ports of ``librosa.onset.onset_strength`` and ``librosa.feature.tempo`` (the
tempo estimate ``librosa.beat.beat_track`` reports) that reuse the window's
mel spectrogram and avoid importing librosa (importing scipy.signal alone is
slow; see ``docs/results.md``). Tests hold them to librosa's functions.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from genrekit.features.spectral import median
from genrekit.features.spectrogram import HOP_LENGTH, N_FFT, hann_window


def onset_strength(
    mel_db: np.ndarray,
    aggregate: Literal["mean", "median"] = "mean",
    lag: int = 1,
    n_fft: int = N_FFT,
    hop_length: int = HOP_LENGTH,
) -> np.ndarray:
    """Spectral flux onset envelope ``(n_frames,)``: positive dB rise per mel band, aggregated.

    ``mel_db`` is the log-mel spectrogram ``(n_mels, n_frames)`` in dB
    (``power_to_db`` of librosa's mel spectrogram). ``aggregate="mean"`` is
    ``librosa.onset.onset_strength``'s default, ``"median"`` what
    ``librosa.beat.beat_track`` uses. The envelope is shifted by
    ``lag + n_fft // (2 * hop_length)`` frames to undo the framing delay.
    """
    if lag < 1:
        raise ValueError("lag must be a positive integer")
    count = mel_db.shape[1]
    rise = np.maximum(0.0, mel_db[:, lag:] - mel_db[:, :-lag])
    if aggregate == "mean":
        env = np.mean(rise, axis=0)
    elif aggregate == "median":
        env = median(rise, axis=0)
    else:
        raise ValueError(f"aggregate must be 'mean' or 'median', got {aggregate!r}")
    pad = lag + n_fft // (2 * hop_length)
    return np.pad(env, (pad, 0))[:count]


def tempo_frequencies(n_bins: int, sr: int, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """Tempo in BPM of each autocorrelation lag ``(n_bins,)``; lag 0 is ``inf``."""
    bpm = np.zeros(n_bins)
    bpm[0] = np.inf
    bpm[1:] = 60.0 * sr / (hop_length * np.arange(1.0, n_bins))
    return bpm


_BLOCK = 128  # tempogram frames transformed at a time (keeps the buffers in cache)


def _fast_even_length(n: int) -> int:
    """Smallest even ``2**a * 3**b * 5**c >= n`` (``scipy.fft.next_fast_len(n, real=True)``, made even)."""
    best = None
    p5 = 1
    while p5 < 2 * n:
        p35 = p5
        while p35 < 2 * n:
            m = 2 * p35  # even
            while m < n:
                m *= 2
            best = m if best is None else min(best, m)
            p35 *= 3
        p5 *= 5
    return max(int(best), 2)


def _fft(double: bool):
    """``(rfft, dct1)`` for the precision: numpy's pocketfft in float64 (no scipy import on that path),
    scipy.fft in float32 (numpy's float32 transforms are slower than its float64 ones)."""
    if double:
        def dct1(x: np.ndarray) -> np.ndarray:
            # DCT-I over n/2 + 1 points of a real, even spectrum = n * its inverse real FFT of length n
            n = 2 * (x.shape[-1] - 1)
            return np.fft.irfft(x, n=n, axis=-1) * n

        return (lambda x: np.fft.rfft(x, axis=-1)), dct1
    import scipy.fft

    return (lambda x: scipy.fft.rfft(x, axis=-1, workers=1)), (lambda x: scipy.fft.dct(x, type=1, axis=-1, workers=1))


def _frame_power(onset_env: np.ndarray, win_length: int, double: bool):
    """Yield ``(first_frame, |rfft|**2 (block, n_pad // 2 + 1))`` of the centred, Hann-windowed onset frames.

    ``n_pad`` is even and at least ``2 * win_length - 1``: the inverse transform of
    the power gives the autocorrelation at lags ``0 .. win_length - 1`` without wrap-around.
    """
    if win_length < 1:
        raise ValueError("win_length must be a positive integer")
    dtype = np.float64 if double else np.float32
    rfft, _ = _fft(double)
    count = onset_env.shape[-1]
    half = win_length // 2
    # in the transform's precision up front (exact), so the windowing below multiplies like with like
    padded = np.pad(np.asarray(onset_env).astype(dtype, copy=False), (half, half), mode="linear_ramp",
                    end_values=(0, 0))
    frames = np.lib.stride_tricks.sliding_window_view(padded, win_length)[:count]
    n_pad = _fast_even_length(2 * win_length - 1)  # any even length >= 2 * win_length - 1 gives the same lags
    window = hann_window(win_length, double=True).astype(dtype, copy=False)
    buffer = np.zeros((min(_BLOCK, count), n_pad), dtype=dtype)
    for start in range(0, count, _BLOCK):
        block = frames[start : start + _BLOCK]
        windowed = buffer[: len(block)]
        np.multiply(block, window, out=windowed[:, :win_length])
        spectrum = rfft(windowed)
        power = np.square(spectrum.real)  # |X|**2 as re**2 + im**2: no square root to undo
        power += np.square(spectrum.imag)
        yield start, power


def _tempogram_blocks(onset_env: np.ndarray, win_length: int, double: bool):
    """Yield ``(first_frame, normalised autocorrelations (block, win_length))`` over the envelope."""
    _, dct1 = _fft(double)
    for start, power in _frame_power(onset_env, win_length, double):
        # the inverse FFT of a real, even power spectrum is its DCT-I over n_pad: the autocorrelation
        ac = dct1(power)[:, :win_length]
        peak = np.max(np.abs(ac), axis=1, keepdims=True)
        peak[peak < np.finfo(ac.dtype).tiny] = 1.0
        yield start, ac / peak


def tempogram(onset_env: np.ndarray, win_length: int = 384, double: bool = True) -> np.ndarray:
    """Local autocorrelation of the onset envelope, ``(win_length, n_frames)``.

    As ``librosa.feature.tempogram(onset_envelope=...)``: centred Hann-windowed
    frames of ``win_length`` onset frames (linear ramps to 0 at the edges),
    autocorrelated and scaled so each frame's largest lag value is 1.
    ``double=False`` runs the FFTs in float32 (measured faster, with float32 rounding; see ``docs/results.md``).
    """
    out = np.empty((onset_env.shape[-1], win_length), dtype=np.float64 if double else np.float32)
    for start, block in _tempogram_blocks(onset_env, win_length, double):
        out[start : start + len(block)] = block
    return out.T


def tempo_profile(
    onset_env: np.ndarray, sr: int, hop_length: int = HOP_LENGTH, ac_size: float = 8.0, double: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Time-averaged tempogram over ``ac_size`` seconds of lags: ``(bpm, strength)``, each ``(n_lags,)``.

    ``bpm[0]`` is ``inf`` (lag 0); ``strength`` lies in [-1, 1], 1 meaning the
    onset envelope repeats perfectly at that period in every frame.
    """
    win_length = int(int(ac_size * sr) // hop_length)
    # Each frame's autocorrelation is the DCT-I of its power spectrum, scaled by its largest value, the
    # lag-0 value (the frame's energy: no other lag of a finite sequence reaches it). The transform is
    # linear, so the time average is one DCT-I of the energy-weighted mean power spectrum.
    _, dct1 = _fft(double)
    weighted = None
    for _, power in _frame_power(onset_env, win_length, double):
        energy = power[:, 0] + power[:, -1] + 2.0 * power[:, 1:-1].sum(axis=1, dtype=np.float64)  # DCT-I at lag 0
        energy[energy < np.finfo(power.dtype).tiny] = 1.0  # silent frames contribute zeros
        part = (1.0 / energy) @ power.astype(np.float64, copy=False)
        weighted = part if weighted is None else weighted + part
    total = np.zeros(win_length) if weighted is None else dct1(weighted)[:win_length]
    return tempo_frequencies(win_length, sr, hop_length), total / max(onset_env.shape[-1], 1)


def tempo(
    onset_env: np.ndarray,
    sr: int,
    hop_length: int = HOP_LENGTH,
    start_bpm: float = 120.0,
    std_bpm: float = 1.0,
    ac_size: float = 8.0,
    max_tempo: float | None = 320.0,
    profile: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, float]:
    """Global tempo in BPM and its strength, from an onset envelope.

    The tempo is ``librosa.feature.tempo(onset_envelope=onset_env, sr=sr)``:
    the lag maximising the time-averaged tempogram (``ac_size`` seconds of
    lags) weighted by a log-normal prior around ``start_bpm``. The strength
    is the averaged tempogram's value at that lag: how strongly the envelope
    repeats at that period. ``profile`` is :func:`tempo_profile`'s result if
    already computed.
    """
    bpms, strength = profile if profile is not None else tempo_profile(onset_env, sr, hop_length, ac_size)
    with np.errstate(divide="ignore", invalid="ignore"):
        logprior = -0.5 * ((np.log2(bpms) - np.log2(start_bpm)) / std_bpm) ** 2
    if max_tempo is not None:
        logprior[: int(np.argmax(bpms < max_tempo))] = -np.inf
    best = int(np.argmax(np.log1p(1e6 * strength) + logprior))
    return float(bpms[best]), float(strength[best])


__all__ = ["onset_strength", "tempo", "tempo_frequencies", "tempo_profile", "tempogram"]
