"""Onset strength and global tempo from a log-mel spectrogram.

Ports of ``librosa.onset.onset_strength`` and ``librosa.feature.tempo`` (the
tempo estimate ``librosa.beat.beat_track`` reports) that reuse the window's
mel spectrogram and avoid importing librosa (importing scipy.signal alone is
slow; see ``docs/results.md``). Tests hold them to librosa's functions.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

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
        env = np.median(rise, axis=0)
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


def _tempogram_blocks(onset_env: np.ndarray, win_length: int, double: bool):
    """Yield ``(first_frame, normalised autocorrelations (block, win_length))`` over the envelope."""
    import scipy.fft

    if win_length < 1:
        raise ValueError("win_length must be a positive integer")
    dtype = np.float64 if double else np.float32
    count = onset_env.shape[-1]
    half = win_length // 2
    padded = np.pad(onset_env, (half, half), mode="linear_ramp", end_values=(0, 0))
    frames = np.lib.stride_tricks.sliding_window_view(padded, win_length)[:count]
    n_pad = scipy.fft.next_fast_len(2 * win_length - 1, real=True)
    while n_pad % 2:  # even length: the DCT-I below needs it; any length >= 2 * win_length - 1 gives the same lags
        n_pad = scipy.fft.next_fast_len(n_pad + 1, real=True)
    window = hann_window(win_length, double=True).astype(dtype, copy=False)
    buffer = np.zeros((min(_BLOCK, count), n_pad), dtype=dtype)
    for start in range(0, count, _BLOCK):
        block = frames[start : start + _BLOCK]
        windowed = buffer[: len(block)]
        np.multiply(block, window, out=windowed[:, :win_length])
        power = np.abs(scipy.fft.rfft(windowed, axis=1, workers=1))
        np.square(power, out=power)
        # the inverse FFT of a real, even power spectrum is its DCT-I over n_pad: the same
        # autocorrelation, computed real-to-real (no complex copy of the power spectrum)
        ac = scipy.fft.dct(power, type=1, axis=1, workers=1)[:, :win_length]
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
    total = np.zeros(win_length)
    for _, block in _tempogram_blocks(onset_env, win_length, double):
        total += block.sum(axis=0, dtype=np.float64)
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
