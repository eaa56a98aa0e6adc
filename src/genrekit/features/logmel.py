"""Log-mel patches as a feature set: the input of genrekit's CNN models, flattened.

A CNN model file names one of these sets, so the existing pipeline (feature
store, :class:`~genrekit.predict.GenreClassifier`, evaluation) feeds it
without knowing it is a CNN: each analysis window becomes one fixed-size
``(n_frames, n_mels)`` patch, flattened row-major (frame by frame) into
``n_frames * n_mels`` columns; the model's ONNX graph reshapes it back.

Two sets:

- ``logmel``: 22050 Hz, 1024-point STFT, hop 512, 96 mel bands, 3 s
  (130 frames): 12480 columns. For CNNs trained from scratch.
- ``musicnn_mel``: musicnn's own front-end (16 kHz, 512/256, 96 bands, one
  187-frame patch = 2.99 s): 17952 columns. For fine-tuned musicnn.

Both compress the mel power as musicnn does, ``log10(1 + 10000 * mel)``
(float32; a bounded, non-negative input that needs no epsilon). A window
shorter than a patch is repeat-padded (as musicnn's training did); a longer
one contributes its first patch only, so use windows of the patch length.
The STFT is the plain numpy/scipy one of :mod:`genrekit.musicnn.frontend`
(reflect-padded, centred frames); the mel filter bank is librosa's Slaney
mel, computed once per set.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

from genrekit.features.base import Column, FeatureSet


class LogMelFeatureSet(FeatureSet):
    """One log-mel patch per window, flattened to ``n_frames * n_mels`` float columns.

    Parameters
    ----------
    sample_rate : Hz the window arrives at.
    n_fft, hop_length : STFT size and hop in samples.
    n_mels : mel bands (librosa Slaney mel, ``fmin=0``, ``fmax=sr/2``).
    seconds : patch length; ``n_frames = 1 + int(seconds * sample_rate) // hop_length``
        unless ``n_frames`` is given.
    """

    name = "logmel"
    version = "1"

    def __init__(self, sample_rate: int = 22050, n_fft: int = 1024, hop_length: int = 512, n_mels: int = 96,
                 seconds: float = 3.0, n_frames: int | None = None) -> None:
        if min(sample_rate, n_fft, hop_length, n_mels) <= 0 or seconds <= 0:
            raise ValueError("sample_rate, n_fft, hop_length, n_mels and seconds must be > 0")
        self.sample_rate = int(sample_rate)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.n_mels = int(n_mels)
        self.n_frames = int(n_frames) if n_frames is not None else 1 + int(round(seconds * sample_rate)) // hop_length
        if self.n_frames < 1:
            raise ValueError("a patch needs at least one frame")

    # Both built on first use, names without their descriptions: a model's load compares ~18,000 column
    # names, and making the Column objects too cost more than the rest of the load.
    @functools.cached_property
    def columns(self) -> tuple[Column, ...]:
        return tuple(Column(name, f"log10(1 + 10000 * mel power) of frame {i // self.n_mels}, mel band {i % self.n_mels}")
                     for i, name in enumerate(self.column_names))

    @property
    def column_names(self) -> list[str]:
        return list(self._names)

    @functools.cached_property
    def _names(self) -> tuple[str, ...]:
        return tuple(f"mel_t{t:03d}_f{f:02d}" for t in range(self.n_frames) for f in range(self.n_mels))

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_frames, n_mels)`` of one patch."""
        return self.n_frames, self.n_mels

    @property
    def patch_seconds(self) -> float:
        """Seconds of audio one patch spans (the window length CNN models use)."""
        return (self.n_frames - 1) * self.hop_length / self.sample_rate

    def options(self) -> dict[str, Any]:
        return {"sample_rate": self.sample_rate, "n_fft": self.n_fft, "hop_length": self.hop_length,
                "n_mels": self.n_mels, "n_frames": self.n_frames}

    def mel_basis(self) -> np.ndarray:
        """``(n_mels, 1 + n_fft // 2)`` float32 Slaney mel filter bank, librosa's weights without importing librosa.

        Prediction with a CNN then never imports librosa (and numba), whose import
        is slow (see ``docs/results.md``).
        """
        from genrekit.features.spectrogram import mel_filterbank

        return mel_filterbank(self.sample_rate, self.n_fft, self.n_mels)

    def mel_power(self, y: np.ndarray) -> np.ndarray:
        """Mel power ``(n_frames_total, n_mels)`` float32 of a whole signal (repeat-padded to one patch).

        Training crops patches from this (and compresses them with :meth:`compress`)
        instead of recomputing the STFT for every random crop.
        """
        from genrekit.musicnn.frontend import power_spectrogram, repeat_pad

        y = np.asarray(y, dtype=np.float32)
        if y.ndim != 1 or len(y) == 0:
            raise ValueError(f"expected a non-empty mono signal (n_samples,), got shape {y.shape}")
        if not np.isfinite(y).all():
            raise ValueError("signal contains NaN or infinite samples")
        y = repeat_pad(y, max((self.n_frames - 1) * self.hop_length, self.n_fft // 2 + 1))
        power = power_spectrogram(y, n_fft=self.n_fft, hop_length=self.hop_length)
        return power @ self.mel_basis().T

    @staticmethod
    def compress(mel_power: np.ndarray) -> np.ndarray:
        """``log10(1 + 10000 * mel_power)`` in float32 (musicnn's compression)."""
        return np.log10(np.float32(1.0) + np.float32(10000.0) * mel_power, dtype=np.float32)

    def patch(self, y: np.ndarray) -> np.ndarray:
        """The ``(n_frames, n_mels)`` float32 log-mel patch of one window (its first patch)."""
        return self.compress(self.mel_power(y)[: self.n_frames])

    def extract(self, y: np.ndarray, sr: int) -> np.ndarray:
        return self.extract_many([y], sr)[0]

    def extract_many(self, windows: Sequence[np.ndarray], sr: int) -> np.ndarray:
        """``(n_windows, n_frames * n_mels)`` float64, each row a flattened patch."""
        if sr != self.sample_rate:
            raise ValueError(f"{self.name} expects audio at {self.sample_rate} Hz, got {sr} Hz")
        if len(windows) == 0:
            return np.zeros((0, len(self._columns)))
        return np.stack([self.patch(w).reshape(-1) for w in windows]).astype(np.float64)


class MusicnnMelFeatureSet(LogMelFeatureSet):
    """musicnn's input: one 187-frame, 96-band patch at 16 kHz (see :mod:`genrekit.musicnn.frontend`)."""

    name = "musicnn_mel"
    version = "1"

    def __init__(self) -> None:
        from genrekit.musicnn import frontend

        super().__init__(sample_rate=frontend.SAMPLE_RATE, n_fft=frontend.N_FFT, hop_length=frontend.HOP_LENGTH,
                         n_mels=frontend.N_MELS, n_frames=frontend.PATCH_FRAMES)

    def options(self) -> dict[str, Any]:
        return {}


__all__ = ["LogMelFeatureSet", "MusicnnMelFeatureSet"]
