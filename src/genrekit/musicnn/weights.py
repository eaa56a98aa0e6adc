"""musicnn's weights: read from TensorFlow checkpoints, built into ONNX network files, and read back.

:func:`convert_checkpoint` reads one of the wheel's checkpoints (with
:mod:`genrekit.musicnn.checkpoint`, no TensorFlow) and renames its variables
after the layer they belong to; the optimizer's slots (Adam moments) are left
out. Kernels keep TensorFlow's layout (``conv``: ``(height=time, width=freq,
in, out)``, ``dense``: ``(in, out)``); the graph builders do the transposes.
Batch norm layers are stored as ``gamma``, ``beta``, ``moving_mean``,
``moving_variance``.

The variable names follow the order in which musicnn's ``models.py`` creates
its layers. ``build_musicnn``::

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

``vgg`` (named layers)::

    batch_normalization          input BN (1 channel)
    1CNN..5CNN, batch_normalization_1..5   3x3 convs (128 filters)
    dense                        output logits (50)

:func:`network_proto` builds a network's ONNX graph; :func:`load_weights`
reads a network file back into these arrays (what ``--init musicnn`` starts a
torch network from).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from genrekit.errors import ModelFileError
from genrekit.musicnn.checkpoint import CheckpointReader
from genrekit.musicnn.paths import DEFAULT_MODEL, MEL_BASIS_FILE, architecture

# genrekit layer name -> (TensorFlow conv/dense scope, TensorFlow batch-norm scope or None), per architecture
MUSICNN_LAYERS: dict[str, tuple[str | None, str | None]] = {
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
VGG_LAYERS: dict[str, tuple[str | None, str | None]] = {
    "input": (None, "batch_normalization"),
    **{f"conv{i}": (f"{i}CNN", f"batch_normalization_{i}") for i in range(1, 6)},
    "output": ("dense", None),
}
LAYERS = MUSICNN_LAYERS
BN_PARTS = ("gamma", "beta", "moving_mean", "moving_variance")

N_MELS = 96
N_FFT = 512

# The shapes of musicnn 0.1.0's networks (musicnn: 64 mid-end filters, 200 back-end units; vgg: 128 filters).
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
VGG_EXPECTED_SHAPES: dict[str, tuple[int, ...]] = {
    "conv1.kernel": (3, 3, 1, 128),
    **{f"conv{i}.kernel": (3, 3, 128, 128) for i in range(2, 6)},
    "output.kernel": (256, 50),
    "mel_basis": (N_MELS, N_FFT // 2 + 1),
}


KEEP_FLOAT32: dict[str, tuple[str, ...]] = {"musicnn": ("timbral74.W", "timbral77.W"), "vgg": ()}
"""Per architecture, the large kernels that stay float32 although float16 would halve them: musicnn's timbral
front-end, which sees the input spectrogram directly (in float16 each alone moved MSD_musicnn's tags by up to
4e-4 and its penultimate layer by 2e-3 on the probe patches; the mid-end kernels, 3e-4 and 2e-3 together
with the dense ones, are halved). vgg's first conv is under the size threshold and stays float32 anyway."""


def layers_for(model: str) -> dict[str, tuple[str | None, str | None]]:
    return MUSICNN_LAYERS if architecture(model) == "musicnn" else VGG_LAYERS


def shapes_for(model: str) -> dict[str, tuple[int, ...]]:
    return EXPECTED_SHAPES if architecture(model) == "musicnn" else VGG_EXPECTED_SHAPES


def required_keys(model: str = DEFAULT_MODEL) -> list[str]:
    keys = []
    for layer, (dense, bn) in layers_for(model).items():
        if dense:
            keys += [f"{layer}.kernel", f"{layer}.bias"]
        if bn:
            keys += [f"{layer}.bn.{part}" for part in BN_PARTS]
    return keys + ["mel_basis"]


def mel_basis(sr: int = 16000, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """musicnn's mel filter bank, ``(n_mels, 1 + n_fft // 2)`` float32 (librosa's Slaney mel, area-normalised).

    Computed once at conversion time and stored beside the networks, so that
    running them never imports librosa (and numba).
    """
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, dtype=np.float32)


def convert_checkpoint(prefix: str | os.PathLike[str], model: str = DEFAULT_MODEL, *, verify: bool = True,
                       mel: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Read the checkpoint of ``model`` into genrekit-named float32 arrays (plus the mel filter bank ``mel``)."""
    reader = CheckpointReader(prefix, verify=verify)
    weights: dict[str, np.ndarray] = {}
    for layer, (dense, bn) in layers_for(model).items():
        if dense:
            weights[f"{layer}.kernel"] = reader.read(f"{dense}/kernel")
            weights[f"{layer}.bias"] = reader.read(f"{dense}/bias")
        if bn:
            for part in BN_PARTS:
                weights[f"{layer}.bn.{part}"] = reader.read(f"{bn}/{part}")
    weights["mel_basis"] = mel_basis() if mel is None else mel
    weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
    check_weights(weights, str(prefix), model)
    return weights


def check_weights(weights: dict[str, np.ndarray], source: str, model: str = DEFAULT_MODEL) -> None:
    """Raise :class:`ModelFileError` unless ``weights`` holds every array ``model`` needs, finite, in shape."""
    missing = [k for k in required_keys(model) if k not in weights]
    if missing:
        raise ModelFileError(f"{source}: missing {model} arrays {', '.join(missing)}")
    for key, shape in shapes_for(model).items():
        if weights[key].shape != shape:
            raise ModelFileError(f"{source}: {key} has shape {weights[key].shape}, expected {shape}")
    for key, value in weights.items():
        if value.dtype != np.float32:
            raise ModelFileError(f"{source}: {key} is {value.dtype}, expected float32")
        if not np.isfinite(value).all():
            raise ModelFileError(f"{source}: {key} holds NaN or infinite values")


def network_proto(weights: dict[str, np.ndarray], model: str, *, half: bool = False, check: bool = True,
                  keep_float32: tuple[str, ...] | None = None):
    """The ONNX graph (``onnx.ModelProto``) of network ``model`` with ``weights``; ``half``: float16 kernels.

    ``keep_float32``: constants that stay float32 even with ``half`` (default: :data:`KEEP_FLOAT32`).
    """
    import json

    from genrekit.musicnn.labels import labels_for
    from genrekit.musicnn.network_file import LABELS_KEY, MODEL_KEY

    metadata = {MODEL_KEY: model, LABELS_KEY: json.dumps(list(labels_for(model)))}
    keep = KEEP_FLOAT32[architecture(model)] if keep_float32 is None else keep_float32
    if architecture(model) == "musicnn":
        from genrekit.musicnn.graph import build_onnx

        return build_onnx(weights, name=model, check=check, half=half, metadata=metadata, keep_float32=keep)
    from genrekit.musicnn.vgg_graph import build_vgg_onnx

    return build_vgg_onnx(weights, name=model, check=check, half=half, metadata=metadata, keep_float32=keep)


def weights_from_graph(arrays: dict[str, np.ndarray], model: str) -> dict[str, np.ndarray]:
    """Undo the graph builders' layout changes: ONNX initializers (float32) -> TensorFlow-layout weights."""
    weights: dict[str, np.ndarray] = {}
    for layer, (dense, bn) in layers_for(model).items():
        if bn:
            for part in BN_PARTS:
                weights[f"{layer}.bn.{part}"] = arrays[f"{layer}.bn.{part}"]
        if not dense:
            continue
        w, b = arrays[f"{layer}.W"], arrays[f"{layer}.B"]
        if layer in ("dense", "output"):
            kernel, bias = w, b
        elif layer.startswith("midend"):
            kernel, bias = w.transpose(2, 1, 0)[:, :, None, :], b  # (64, C, 7) -> (7, C, 1, 64)
        elif architecture(model) == "musicnn":  # a front-end branch: padded filters, some negated
            sign = arrays[f"{layer}.sign"][:, 0]
            n_out = len(sign)
            kernel = (w[:n_out] * sign[:, None, None, None]).transpose(2, 3, 1, 0)
            bias = b[:n_out] * sign
        else:  # a vgg conv: OIHW -> HWIO
            kernel, bias = w.transpose(2, 3, 1, 0), b
        weights[f"{layer}.kernel"] = np.ascontiguousarray(kernel, dtype=np.float32)
        weights[f"{layer}.bias"] = np.ascontiguousarray(bias, dtype=np.float32)
    return weights


def load_weights(path: str | os.PathLike[str], model: str | None = None) -> dict[str, np.ndarray]:
    """The TensorFlow-layout float32 weights of network file ``path`` (``<model>.onnx``), plus its mel filter bank.

    The file is checked as hostile data first (:func:`genrekit.musicnn.network_file.read_network`);
    float16 kernels come back as float32 (the values the shipped network computes with).
    Needs the ``onnx`` package (conversion and training paths only).
    """
    import onnx
    from onnx import numpy_helper

    from genrekit.musicnn.network_file import read_mel_basis, read_network
    from genrekit.musicnn.onnx_builder import HALF_SUFFIX

    path = Path(path)
    model = model or path.stem
    if not path.is_file():
        raise ModelFileError(f"{path}: musicnn network file not found")
    try:
        architecture(model)
    except ValueError as error:
        raise ModelFileError(f"{path}: {error}") from None
    proto = onnx.load_model_from_string(read_network(path, model))
    arrays = {}
    for init in proto.graph.initializer:
        name = init.name.removesuffix(HALF_SUFFIX)
        arrays[name] = np.asarray(numpy_helper.to_array(init), dtype=np.float32 if init.data_type != 7 else np.int64)
    try:
        weights = weights_from_graph(arrays, model)
    except KeyError as error:
        raise ModelFileError(f"{path}: the network lacks the constant {error}") from None
    weights["mel_basis"] = read_mel_basis(path.parent / MEL_BASIS_FILE)
    check_weights(weights, str(path), model)
    return weights


__all__ = [
    "EXPECTED_SHAPES",
    "LAYERS",
    "VGG_EXPECTED_SHAPES",
    "check_weights",
    "convert_checkpoint",
    "layers_for",
    "load_weights",
    "mel_basis",
    "network_proto",
    "required_keys",
    "weights_from_graph",
]
