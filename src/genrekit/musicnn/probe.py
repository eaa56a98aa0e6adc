"""The patches musicnn's networks are checked on: parity with TensorFlow, and the error of float16 storage.

Four 187-frame log-mel patches (two of the metal example, one of the
classical example, one loud synthetic signal) and one 64-frame patch of the
jazz example, all cut by genrekit's own front-end from the recordings shipped
in ``genrekit/data/examples``. ``scripts/musicnn/record_reference.py`` ran
TensorFlow on exactly these (tests/musicnn/data/reference.npz), and the
converter measures what float16 weights change on them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genrekit.musicnn import frontend

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
SOURCES = ("metal@60s", "metal@63s", "classical@30s", "synthetic", "jazz@20s frames 40-103 (mel_short)")


def synthetic(seconds: float = 3.1, sr: int = 16000) -> np.ndarray:
    """A loud test signal: a rising chirp, a low tone, clicks every 0.25 s and a little noise."""
    t = np.arange(int(seconds * sr)) / sr
    chirp = np.sin(2 * np.pi * (200 * t + 600 * t**2))
    tone = 0.5 * np.sin(2 * np.pi * 110 * t)
    clicks = np.zeros_like(t)
    clicks[:: sr // 4] = 4.0
    noise = 0.05 * np.random.default_rng(0).standard_normal(len(t))
    return (0.9 * (chirp + tone + noise) + clicks).astype(np.float32)


def input_patches(mel_basis: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Four 187-frame patches and one 64-frame patch, all float32, from genrekit's front-end; and their sources."""
    from genrekit.audio import load_audio

    sr = frontend.SAMPLE_RATE
    metal = load_audio(EXAMPLES / "metal_muldjord_armygeddon.ogg", sr, offset=60.0, duration=6.2)
    classical = load_audio(EXAMPLES / "classical_brahms_hungarian_dance_5.ogg", sr, offset=30.0, duration=3.1)
    jazz = load_audio(EXAMPLES / "jazz_kevin_macleod_vibe_ace.ogg", sr, offset=20.0, duration=3.1)
    mel = np.concatenate(
        [
            frontend.signal_patches(metal, mel_basis)[0][:2],
            frontend.signal_patches(classical, mel_basis)[0][:1],
            frontend.signal_patches(synthetic(), mel_basis)[0][:1],
        ]
    )
    short = frontend.log_mel(jazz, mel_basis)[None, 40:104]
    return mel.astype(np.float32), np.ascontiguousarray(short, dtype=np.float32), list(SOURCES)


__all__ = ["EXAMPLES", "SOURCES", "input_patches", "synthetic"]
