"""Export a trained CNN to the ``model.onnx`` of a ``.genre`` file.

The graph takes what the model's feature set (:mod:`genrekit.features.logmel`)
outputs, flattened patches ``features`` float32 ``(N, n_frames * n_mels)``,
reshapes them to ``(N, n_frames, n_mels)``, runs the network (inference
mode: batch norm uses its running statistics, dropout is off) and returns
softmax ``probabilities`` ``(N, n_classes)``: the same contract as the
classical models, so prediction and evaluation need no CNN-specific code and
run on onnxruntime alone.

The exporter is torch's TorchScript-based one (``dynamo=False``): the
dynamo exporter needs ``onnxscript``, one more dependency for no gain on
these plain conv nets.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from genrekit.features import feature_set_from_config
from genrekit.models import bundle
from genrekit.models.bundle import INPUT_NAME, OUTPUT_NAME
from genrekit.models.card import OnnxSpec
from genrekit.musicnn.max_first import pool_before_batch_norm
from genrekit.runtime import onnx_session

OPSET = 17
HALF_MIN_ELEMENTS = 1024  # smaller tensors (biases, batch-norm vectors) stay float32: they weigh nothing


class FlatInputClassifier(nn.Module):
    """``(N, n_frames * n_mels)`` -> reshape -> network -> softmax ``(N, n_classes)``."""

    def __init__(self, net: nn.Module, n_frames: int, n_mels: int) -> None:
        super().__init__()
        self.net = net
        self.n_frames = n_frames
        self.n_mels = n_mels

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        mel = features.reshape(-1, self.n_frames, self.n_mels)
        return torch.softmax(self.net(mel), dim=1)


def export_onnx(net: nn.Module, n_frames: int, n_mels: int, labels: Sequence[str]):
    """The network as an ``onnx.ModelProto`` (input ``features``, output ``probabilities``, labels in metadata)."""
    import onnx

    wrapper = FlatInputClassifier(net, n_frames, n_mels).eval()
    example = torch.zeros(2, n_frames * n_mels)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        torch.onnx.export(wrapper, (example,), buffer, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)
    proto = onnx.load_model_from_string(buffer.getvalue())
    pool_before_batch_norm(proto, input_width=n_mels)  # musicnn's front-end max-first: the same numbers, less work
    entry = proto.metadata_props.add()
    entry.key, entry.value = "genrekit.labels", json.dumps([str(label) for label in labels])
    onnx.checker.check_model(proto)
    return proto


def store_weights_as_float16(proto, min_elements: int = HALF_MIN_ELEMENTS):
    """Store the large float32 weights of ``proto`` as float16, each cast back to float32 as the graph starts.

    Halves a CNN's model file (musicnn fine-tuned: 2.9 -> 1.5 MB) while the
    arithmetic stays float32: onnxruntime folds the casts once, at load.
    Hand-written (a dozen lines) because onnxconverter-common's float16
    conversion makes the whole graph compute in float16, which CPUs run
    slowly and less accurately. Returns a new ``ModelProto``.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(proto)
    graph = out.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{name}__float16"))
        casts.append(helper.make_node("Cast", [f"{name}__float16"], [name], to=TensorProto.FLOAT,
                                      name=f"{name}__to_float32"))
    nodes = [*casts, *graph.node]
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(out)
    return out


def torch_probabilities(net: nn.Module, X: np.ndarray, n_frames: int, n_mels: int, batch: int = 32) -> np.ndarray:
    """Softmax probabilities of ``net`` (inference mode) on flat patches ``X`` ``(n, n_frames * n_mels)``."""
    wrapper = FlatInputClassifier(net, n_frames, n_mels)
    was_training = net.training
    wrapper.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(X), batch):
            out.append(wrapper(torch.from_numpy(np.ascontiguousarray(X[i:i + batch], dtype=np.float32))).numpy())
    net.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def check_export(proto, net: nn.Module, X: np.ndarray, n_frames: int, n_mels: int, *, atol: float = 1e-4) -> float:
    """Largest |ONNX - torch| probability on ``X``; raise ValueError above ``atol`` (run after every export)."""
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    got = onnx_session(proto.SerializeToString(), where="exported CNN").run([OUTPUT_NAME], {INPUT_NAME: X32})[0]
    want = torch_probabilities(net, X32, n_frames, n_mels)
    err = float(np.max(np.abs(got - want))) if len(X) else 0.0
    if err > atol:
        raise ValueError(f"ONNX probabilities differ from torch's by {err:.3g} (> {atol}): the export is not faithful")
    return err


MAX_FIRST_ATOL = 1e-5
"""Largest probability change :func:`max_first_file` accepts: the rewrite is exact up to float32 rounding."""


def max_first_file(path: str | os.PathLike[str], out: str | os.PathLike[str], *, check_rows: int = 8) -> tuple[Path, int]:
    """Write ``out``: model file ``path`` with its musicnn front-end rewritten max-first; ``(out, chains rewritten)``.

    For files exported before :func:`export_onnx` did this itself (the
    rewrite is :func:`genrekit.musicnn.max_first.pool_before_batch_norm`).
    The card, calibration included, is kept; ``model.front_end`` records the
    rewrite. Both graphs run on ``check_rows`` random patches first, and a
    probability differing by more than :data:`MAX_FIRST_ATOL` stops it
    (:class:`ValueError`), as does a graph with nothing to rewrite.
    """
    import onnx

    model = bundle.load_model(path)
    card = model.card
    spec = card.onnx or OnnxSpec()
    files = model.files()
    proto = onnx.load_model_from_string(files[spec.member])
    mels = getattr(feature_set_from_config(card.feature_set.to_json()), "n_mels", None)
    rewritten = pool_before_batch_norm(proto, input_width=mels)
    if not rewritten:
        raise ValueError(f"{path}: no Conv -> Relu -> BatchNormalization -> ReduceMax chain to rewrite")
    graph = proto.SerializeToString()
    X = np.random.default_rng(0).standard_normal((check_rows, model.n_features)).astype(np.float32)
    before = model.predict_proba(X)
    after = bundle.draft_model(card, graph).predict_proba(X)
    err = float(np.max(np.abs(after - before)))
    if err > MAX_FIRST_ATOL:
        raise ValueError(f"{path}: the max-first graph's probabilities differ by {err:.3g} (> {MAX_FIRST_ATOL})")
    others = {name: data for name, data in files.items() if name not in (bundle.CARD_MEMBER, spec.member)}
    details = card.model.details | {"front_end": f"max-first ({rewritten} branches, max |diff| {err:.1e})"}
    new_card = replace(card, model=replace(card.model, details=details), card_sha256=None, onnx=None, members={})
    return bundle.save_model(out, graph, new_card, extra_members=others), rewritten


__all__ = ["FlatInputClassifier", "MAX_FIRST_ATOL", "check_export", "export_onnx", "max_first_file",
           "store_weights_as_float16", "torch_probabilities"]
