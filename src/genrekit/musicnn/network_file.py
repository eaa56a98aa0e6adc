"""Read a musicnn network file and its mel filter bank as hostile data: bounded, checked, then handed to onnxruntime.

A network file is ``<model>.onnx`` (weights inside, nothing outside). It is
read the way model files are (:mod:`genrekit.models.onnx_wire`, no ``onnx``
import, a few milliseconds) and refused unless it is the network it claims
to be: a bounded size, only the standard operator domain, no local functions,
no tensor stored as external data (onnxruntime would read such a file from
disk when the session is created), input ``mel``, musicnn's outputs, and the
model name and labels recorded in its metadata. ``mel_basis.npy`` is read
without pickle and checked for shape, dtype and finite values.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from genrekit.errors import ModelFileError
from genrekit.musicnn.labels import labels_for

MAX_NETWORK_BYTES = 16 << 20
"""musicnn's networks are 1-2 MB (float16 kernels), 3.3 MB at most in float32; a bigger file is refused unread."""
MAX_MEL_BASIS_BYTES = 1 << 20
N_MELS, N_BINS = 96, 257
OUTPUTS = ("taggram", "penultimate", "max_pool", "mean_pool", "logits")
MODEL_KEY = "genrekit.musicnn.model"
LABELS_KEY = "genrekit.labels"


def _bounded_read(path: Path, limit: int, what: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise ModelFileError(f"{path}: {size} bytes, more than a {what} can be ({limit})")
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read the {what} ({error.strerror or error})") from None
    if len(data) > limit:
        raise ModelFileError(f"{path}: more than {limit} bytes, more than a {what} can be")
    return data


def check_network(data: bytes, model: str, where: str) -> None:
    """Raise :class:`ModelFileError` unless ``data`` is a self-contained ONNX graph of musicnn network ``model``."""
    from genrekit.models import onnx_wire  # the bounded reader the model files are checked with

    try:
        info = onnx_wire.read_model(data)
    except onnx_wire.WireFormatError as error:
        raise ModelFileError(f"{where}: not a valid ONNX model ({error})") from None
    if set(info.opset_domains) - {"", "ai.onnx"}:
        raise ModelFileError(f"{where}: uses operator domains {sorted(set(info.opset_domains))}; musicnn needs only ONNX's")
    if info.n_functions:
        raise ModelFileError(f"{where}: holds ONNX local functions, which musicnn's networks never use")
    for graph in info.graphs:
        for tensor in graph.tensors:
            if tensor.external:
                raise ModelFileError(f"{where}: tensor {tensor.name!r} is stored as external data (a file outside "
                                     "the network); a network file must hold all its weights")
        for node in graph.nodes:
            if node.domain not in ("", "ai.onnx"):
                raise ModelFileError(f"{where}: node {node.name!r} uses operator domain {node.domain!r}")
    if len(info.graphs) != 1:
        raise ModelFileError(f"{where}: holds subgraphs, which musicnn's networks never use")
    if [name for name, _ in info.inputs] != ["mel"]:
        raise ModelFileError(f"{where}: inputs {[n for n, _ in info.inputs]}, expected ['mel']")
    outputs = dict(info.outputs)
    if sorted(outputs) != sorted(OUTPUTS):
        raise ModelFileError(f"{where}: outputs {sorted(outputs)}, expected {sorted(OUTPUTS)}")
    n_tags = len(labels_for(model))
    if outputs["taggram"] != n_tags or outputs["logits"] != n_tags:
        raise ModelFileError(f"{where}: the network does not output {n_tags} tags")
    metadata = dict(info.metadata)
    if metadata.get(MODEL_KEY) != model:
        raise ModelFileError(f"{where}: the file holds network {metadata.get(MODEL_KEY)!r}, not {model!r}")
    try:
        labels = json.loads(metadata.get(LABELS_KEY, "null"))
    except ValueError:
        labels = None
    if labels != list(labels_for(model)):
        raise ModelFileError(f"{where}: the tags recorded in the file are not {model}'s")


def read_network(path: str | os.PathLike[str], model: str) -> bytes:
    """The checked bytes of network file ``path`` holding ``model``."""
    path = Path(path)
    data = _bounded_read(path, MAX_NETWORK_BYTES, "musicnn network file")
    check_network(data, model, str(path))
    return data


def read_mel_basis(path: str | os.PathLike[str]) -> np.ndarray:
    """The ``(96, 257)`` float32 mel filter bank stored in ``path`` (``.npy``, no pickle)."""
    import io

    path = Path(path)
    data = _bounded_read(path, MAX_MEL_BASIS_BYTES, "mel filter bank")
    try:
        basis = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ModelFileError(f"{path}: not a readable mel filter bank ({error})") from None
    if not isinstance(basis, np.ndarray) or basis.shape != (N_MELS, N_BINS) or basis.dtype != np.float32:
        raise ModelFileError(f"{path}: expected a ({N_MELS}, {N_BINS}) float32 array")
    if not np.isfinite(basis).all() or (basis < 0).any():
        raise ModelFileError(f"{path}: the mel filter bank holds negative, NaN or infinite values")
    return basis


__all__ = ["MAX_NETWORK_BYTES", "check_network", "read_mel_basis", "read_network"]
