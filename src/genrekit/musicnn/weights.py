"""musicnn weights in genrekit's own format: a pickle-free ``.npz`` of float32 arrays.

:func:`convert_checkpoint` reads a musicnn TensorFlow checkpoint (with
:mod:`genrekit.musicnn.checkpoint`, no TensorFlow) and renames its variables
after the layer they belong to; the optimizer's slots (Adam moments) are left
out. Kernels keep TensorFlow's layout (``conv``: ``(height=time, width=freq,
in, out)``, ``dense``: ``(in, out)``); :mod:`genrekit.musicnn.graph` does the
transposes. Batch norm layers are stored as ``gamma``, ``beta``,
``moving_mean``, ``moving_variance``.

The variable names follow the order in which musicnn's ``build_musicnn``
creates its layers (``models.py``)::

    batch_normalization          input BN (1 channel)
    conv2d,   batch_normalization_1    timbral 7x38 (204 filters)
    conv2d_1, batch_normalization_2    timbral 7x67 (204)
    conv2d_2, batch_normalization_3    temporal 128x1 (51)
    conv2d_3, batch_normalization_4    temporal 64x1 (51)
    conv2d_4, batch_normalization_5    temporal 32x1 (51)
    conv2d_5..7, batch_normalization_6..8   mid-end convs (64)
    batch_normalization_9        back-end BN over pooled features (1506)
    dense, batch_normalization_10      penultimate (200)
    dense_1                      output logits (50)
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from genrekit.errors import ModelFileError
from genrekit.fileio import atomic_write
from genrekit.musicnn.checkpoint import CheckpointReader

# genrekit layer name -> (TensorFlow conv/dense scope, TensorFlow batch-norm scope or None)
LAYERS: dict[str, tuple[str | None, str | None]] = {
    "input": (None, "batch_normalization"),
    "timbral74": ("conv2d", "batch_normalization_1"),
    "timbral77": ("conv2d_1", "batch_normalization_2"),
    "temporal128": ("conv2d_2", "batch_normalization_3"),
    "temporal64": ("conv2d_3", "batch_normalization_4"),
    "temporal32": ("conv2d_4", "batch_normalization_5"),
    "midend1": ("conv2d_5", "batch_normalization_6"),
    "midend2": ("conv2d_6", "batch_normalization_7"),
    "midend3": ("conv2d_7", "batch_normalization_8"),
    "pool": (None, "batch_normalization_9"),
    "dense": ("dense", "batch_normalization_10"),
    "output": ("dense_1", None),
}
BN_PARTS = ("gamma", "beta", "moving_mean", "moving_variance")

N_MELS = 96
N_FFT = 512

# The shapes of musicnn's default models (MSD_musicnn, MTT_musicnn: 64 mid-end filters, 200 back-end units).
EXPECTED_SHAPES: dict[str, tuple[int, ...]] = {
    "timbral74.kernel": (7, 38, 1, 204),
    "timbral77.kernel": (7, 67, 1, 204),
    "temporal128.kernel": (128, 1, 1, 51),
    "temporal64.kernel": (64, 1, 1, 51),
    "temporal32.kernel": (32, 1, 1, 51),
    "midend1.kernel": (7, 561, 1, 64),
    "midend2.kernel": (7, 64, 1, 64),
    "midend3.kernel": (7, 64, 1, 64),
    "dense.kernel": (1506, 200),
    "output.kernel": (200, 50),
    "mel_basis": (N_MELS, N_FFT // 2 + 1),
}


def required_keys() -> list[str]:
    keys = []
    for layer, (dense, bn) in LAYERS.items():
        if dense:
            keys += [f"{layer}.kernel", f"{layer}.bias"]
        if bn:
            keys += [f"{layer}.bn.{part}" for part in BN_PARTS]
    return keys + ["mel_basis"]


def mel_basis(sr: int = 16000, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """musicnn's mel filter bank, ``(n_mels, 1 + n_fft // 2)`` float32 (librosa's Slaney mel, area-normalised).

    Computed once at conversion time and stored with the weights, so that
    running the network never imports librosa (and numba).
    """
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, dtype=np.float32)


def convert_checkpoint(prefix: str | os.PathLike[str], *, verify: bool = True) -> dict[str, np.ndarray]:
    """Read a musicnn checkpoint into genrekit-named float32 arrays (plus the mel filter bank)."""
    reader = CheckpointReader(prefix, verify=verify)
    weights: dict[str, np.ndarray] = {}
    for layer, (dense, bn) in LAYERS.items():
        if dense:
            weights[f"{layer}.kernel"] = reader.read(f"{dense}/kernel")
            weights[f"{layer}.bias"] = reader.read(f"{dense}/bias")
        if bn:
            for part in BN_PARTS:
                weights[f"{layer}.bn.{part}"] = reader.read(f"{bn}/{part}")
    weights["mel_basis"] = mel_basis()
    weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
    check_weights(weights, str(prefix))
    return weights


def check_weights(weights: dict[str, np.ndarray], source: str) -> None:
    """Raise :class:`ModelFileError` unless ``weights`` holds every array musicnn needs, finite, in shape."""
    missing = [k for k in required_keys() if k not in weights]
    if missing:
        raise ModelFileError(f"{source}: missing musicnn arrays {', '.join(missing)}")
    for key, shape in EXPECTED_SHAPES.items():
        if weights[key].shape != shape:
            raise ModelFileError(f"{source}: {key} has shape {weights[key].shape}, expected {shape}")
    for key, value in weights.items():
        if value.dtype != np.float32:
            raise ModelFileError(f"{source}: {key} is {value.dtype}, expected float32")
        if not np.isfinite(value).all():
            raise ModelFileError(f"{source}: {key} holds NaN or infinite values")


def save_weights(weights: dict[str, np.ndarray], path: str | os.PathLike[str]) -> Path:
    """Write ``weights`` as an uncompressed ``.npz`` (float32 arrays only; no pickled objects)."""
    return atomic_write(path, lambda f: np.savez(f, **weights))


def load_weights(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read weights written by :func:`save_weights`, refusing pickled content and checking every array."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: musicnn weights not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            weights = {k: data[k] for k in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise ModelFileError(f"{path}: not a readable musicnn weight file ({error})") from error
    check_weights(weights, str(path))
    return weights


__all__ = ["EXPECTED_SHAPES", "LAYERS", "check_weights", "convert_checkpoint", "load_weights", "mel_basis", "save_weights"]
