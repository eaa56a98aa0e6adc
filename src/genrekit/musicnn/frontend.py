"""musicnn's input: 16 kHz audio -> float32 log-mel spectrogram -> 3-second patches.

Parameters come from musicnn 0.1.0 (``configuration.py``, ``extractor.py``):
16 kHz, 512-point Hann STFT, hop 256, 96 mel bands (librosa's Slaney mel,
power spectrogram), compressed as ``log10(1 + 10000 * mel)``; patches of 187
frames (``librosa.time_to_frames(3 s) + 1``), by default without overlap.

Two deliberate differences from musicnn's ``batch_data``:

* everything stays float32. musicnn casts the mel power to float16 before the
  log, which overflows to ``inf`` on loud bins (mel power > 65504) and then
  turns the network's outputs into NaN; float32 does not overflow there.
* the STFT pads the signal by reflection (``pad_mode="reflect"``), as the
  librosa of 2019 that computed musicnn's training data did (librosa >= 0.10
  pads with zeros); this only changes the first and last frame.

The STFT is plain numpy (``numpy.fft.rfft`` of strided frames, in float64) and the mel
filter bank is stored with the weights, so no librosa/numba import is needed
at run time. ``tests/musicnn`` checks the result against
``librosa.feature.melspectrogram``.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96
PATCH_FRAMES = 187
"""Frames per patch: ``librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1`` (2.992 s)."""


def hann_window(n: int = N_FFT) -> np.ndarray:
    """Periodic Hann window (``scipy.signal.get_window("hann", n)``, librosa's STFT window), float32."""
    k = np.arange(n, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * k / n)).astype(np.float32)


def power_spectrogram(y: np.ndarray, *, n_fft: int = N_FFT, hop_length: int = HOP_LENGTH) -> np.ndarray:
    """Centred STFT power ``|X|^2``, ``(1 + len(y) // hop_length, 1 + n_fft // 2)`` float32.

    Frames are centred (the signal is reflect-padded by ``n_fft // 2`` at both ends),
    as ``librosa.stft(y, center=True, pad_mode="reflect")``.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"expected a mono signal of shape (n_samples,), got shape {y.shape}")
    if len(y) <= n_fft // 2:
        raise ValueError(f"signal of {len(y)} samples is too short for a {n_fft}-point STFT (needs > {n_fft // 2})")
    # numpy.fft, not scipy.fft: scipy.fft's import costs 0.46 s on every cold start of the CLI, more than all
    # the FFTs of a 3-minute song. In float64, which numpy's pocketfft runs faster than float32 here (8 against
    # 17 ms for 12 patches) and which matches librosa more closely.
    padded = np.pad(y, n_fft // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length]
    spectrum = np.fft.rfft(frames * hann_window(n_fft).astype(np.float64), axis=1)
    return (spectrum.real**2 + spectrum.imag**2).astype(np.float32, copy=False)


def log_mel(y: np.ndarray, mel_basis: np.ndarray) -> np.ndarray:
    """musicnn's log-compressed mel spectrogram, ``(n_frames, n_mels)`` float32.

    ``y``: mono float32 at 16 kHz. ``mel_basis``: ``(n_mels, 257)`` filter bank
    (stored with the converted weights). Returns ``log10(1 + 10000 * mel_power)``.
    """
    if not np.isfinite(y).all():
        raise ValueError("signal contains NaN or infinite samples")
    mel = power_spectrogram(y) @ mel_basis.T.astype(np.float32, copy=False)
    return np.log10(np.float32(1.0) + np.float32(10000.0) * mel, dtype=np.float32)


def min_samples(n_frames: int = PATCH_FRAMES) -> int:
    """The fewest samples whose centred STFT has ``n_frames`` frames."""
    return (n_frames - 1) * HOP_LENGTH


def repeat_pad(y: np.ndarray, n_samples: int) -> np.ndarray:
    """Repeat ``y`` until it is at least ``n_samples`` long (musicnn's training used repeat-padding for short clips)."""
    if len(y) == 0:
        raise ValueError("cannot pad an empty signal")
    if len(y) >= n_samples:
        return y
    return np.tile(y, -(-n_samples // len(y)))[:n_samples]


def hop_frames(hop_seconds: float | None, n_frames: int = PATCH_FRAMES) -> int:
    """Patch hop in frames. ``None``: one patch length (no overlap, musicnn's default).

    Seconds convert as musicnn's ``--overlap`` does: ``librosa.time_to_frames(hop, sr, n_fft, hop_length)``.
    """
    if hop_seconds is None:
        return n_frames
    if hop_seconds <= 0:
        raise ValueError("patch hop must be > 0 seconds")
    return max(1, int(np.floor((hop_seconds * SAMPLE_RATE - N_FFT // 2) / HOP_LENGTH)))


def patch_starts(total_frames: int, n_frames: int = PATCH_FRAMES, hop: int = PATCH_FRAMES) -> np.ndarray:
    """First frame of each patch: ``0, hop, 2 hop, ...`` while a whole patch fits (musicnn drops the rest)."""
    if total_frames < n_frames:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, total_frames - n_frames + 1, hop, dtype=np.int64)


def patches(logmel: np.ndarray, n_frames: int = PATCH_FRAMES, hop: int = PATCH_FRAMES) -> np.ndarray:
    """Cut ``(n_frames_total, n_mels)`` into ``(n_patches, n_frames, n_mels)`` (a copy, C-contiguous)."""
    starts = patch_starts(len(logmel), n_frames, hop)
    if len(starts) == 0:
        return np.zeros((0, n_frames, logmel.shape[1]), dtype=np.float32)
    view = np.lib.stride_tricks.sliding_window_view(logmel, n_frames, axis=0)  # (n - n_frames + 1, n_mels, n_frames)
    return np.ascontiguousarray(view[starts].transpose(0, 2, 1), dtype=np.float32)


def signal_patches(
    y: np.ndarray, mel_basis: np.ndarray, *, hop: int = PATCH_FRAMES, n_frames: int = PATCH_FRAMES
) -> tuple[np.ndarray, np.ndarray]:
    """Log-mel patches of a 16 kHz signal, and each patch's start time in seconds.

    Signals shorter than one patch are repeat-padded to one patch.
    Returns ``(patches (n_patches, n_frames, 96) float32, starts (n_patches,) float64 seconds)``.
    """
    y = repeat_pad(np.asarray(y, dtype=np.float32), min_samples(n_frames))
    logmel = log_mel(y, mel_basis)
    starts = patch_starts(len(logmel), n_frames, hop)
    return patches(logmel, n_frames, hop), starts * (HOP_LENGTH / SAMPLE_RATE)


__all__ = [
    "HOP_LENGTH",
    "N_FFT",
    "N_MELS",
    "PATCH_FRAMES",
    "SAMPLE_RATE",
    "hann_window",
    "hop_frames",
    "log_mel",
    "patch_starts",
    "patches",
    "power_spectrogram",
    "repeat_pad",
    "signal_patches",
]
