"""Synthetic signals with known answers, importable by every test module (``from synth import sine``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def sine(freq: float, seconds: float = 2.0, sr: int = 22050, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def white_noise(seconds: float = 2.0, sr: int = 22050, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, int(seconds * sr)).astype(np.float32)


def mixed_folder(write_audio, root: Path) -> Path:
    """``root/music``: three tones (wav), three noises (flac) and a broken mp3: a batch with one bad file."""
    for i in range(3):
        write_audio(f"music/t{i}.wav", sine(220.0 * (i + 1), seconds=1.5))
        write_audio(f"music/n{i}.flac", white_noise(seconds=1.5, seed=i))
    (root / "music" / "broken.mp3").write_bytes(b"\xff\xfb" + b"\x00" * 100)
    return root / "music"
