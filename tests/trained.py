"""A tiny labelled collection with an obvious answer, and a model trained on it.

"tones" are pure sines, "noise" is white noise: any working pipeline separates
them, so tests of training, prediction and evaluation can assert real verdicts
in a second or two.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile as sf

from synth import sine, white_noise

SR = 22050


def make_collection(root: Path, per_label: int = 6, seconds: float = 2.0, *, sr: int = SR,
                    labels: tuple[str, str] = ("tones", "noise")) -> Path:
    """Write tone and noise clips (in folders named after ``labels``) plus a manifest.csv with train/valid splits;
    returns the manifest."""
    rows = []
    tone_label, noise_label = labels
    for i in range(per_label):
        split = "valid" if i >= per_label - 2 else "train"
        tone = root / tone_label / f"tone{i}.wav"
        noise = root / noise_label / f"noise{i}.wav"
        tone.parent.mkdir(parents=True, exist_ok=True)
        noise.parent.mkdir(parents=True, exist_ok=True)
        sf.write(tone, sine(220.0 * (1 + i), seconds=seconds, sr=sr, amplitude=0.3 + 0.05 * i), sr)
        sf.write(noise, white_noise(seconds=seconds, sr=sr, seed=i) * (0.5 + 0.1 * i), sr)
        rows += [
            {"path": f"{tone_label}/tone{i}.wav", "label": tone_label, "split": split},
            {"path": f"{noise_label}/noise{i}.wav", "label": noise_label, "split": split},
        ]
    manifest = root / "manifest.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "label", "split"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def train_tiny_model(root: Path, out: Path, kind: str = "logreg", **config) -> Path:
    """A model of ``kind`` on a fresh tiny collection; ``config`` overrides the seed-features, 1 s-window settings."""
    from genrekit.training import train

    manifest = make_collection(root)
    train(manifest, out, kind, {"feature_set": "seed", "window": 1.0, "hop": 0.5} | config)
    return out


__all__ = ["SR", "make_collection", "np", "train_tiny_model"]
