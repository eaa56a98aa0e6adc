"""Synthetic signals with known answers, importable by every test module (``from synth import sine``)."""

from __future__ import annotations

import numpy as np


def sine(freq: float, seconds: float = 2.0, sr: int = 22050, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def white_noise(seconds: float = 2.0, sr: int = 22050, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, int(seconds * sr)).astype(np.float32)
