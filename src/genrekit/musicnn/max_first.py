"""musicnn's front-end rewritten max-first, in any ONNX graph that holds it: the same numbers, less work.

Each front-end branch of musicnn computes ``max_f BN(ReLU(conv(x)))``, the
max over every frequency position of a batch-normalised, rectified
convolution. Batch norm at inference is a per-channel affine map
``a * r + b`` and ReLU is monotone, so the max can be taken first:
``max_f BN(ReLU(c)) = BN(ReLU(max_f c))`` for channels with ``a >= 0`` and
``BN(ReLU(min_f c))`` for those with ``a < 0``; negating the latter
channels' filters (and the pooled value back) turns their min into a max.
ReLU and batch norm then run on the pooled ``(N, C, T)`` tensor instead of
the ``(N, C, T, F)`` conv output, and onnxruntime keeps its blocked (NCHWc)
layout from the conv through a ``MaxPool`` when the channels are padded
with zero filters to a multiple of 16 (sliced off after pooling).

:mod:`genrekit.musicnn.graph` builds musicnn in this form directly; this
module rewrites graphs built another way, namely torch's export of
:class:`genrekit.models.cnn.arch.MusicnnNet` (a musicnn with a new genre
head, the bundled models), at export and for files written before it
existed. Measured per 3-s patch in ``docs/results.md`` ("Faster inference").
"""

from __future__ import annotations

from typing import Any

import numpy as np

CHANNEL_BLOCK = 16
"""onnxruntime's NCHWc block on AVX2/AVX-512 CPUs: channel counts that are multiples of it need no reorder."""
FLOAT = 1  # onnx.TensorProto.FLOAT
FLOAT16 = 10  # onnx.TensorProto.FLOAT16


def pool_before_batch_norm(proto: Any, *, input_width: int | None = None) -> int:
    """Rewrite every ``Conv -> Relu -> BatchNormalization -> ReduceMax(last axis)`` chain of ``proto`` max-first.

    ``proto`` (an ``onnx.ModelProto``) is changed in place; returns how many
    chains were rewritten. A chain qualifies when each node is the only
    consumer of the one before it, the conv is 2-D with constant weights,
    the batch norm's parameters are constants (initializers, or casts of
    initializers as float16 storage leaves them) and the max reduces axis 3
    without keeping it. A kernel stored as float16 stays float16 (negating
    and zero-padding are exact there).

    The pooling is a ``MaxPool`` as wide as the conv output, which must be
    known when the graph is built: ONNX shape inference gives it where it
    can; where it cannot (torch's export pads through computed shapes),
    ``input_width`` is the last dimension of every such conv's input (96 mel
    bands for musicnn). Without either it is a ``ReduceMax`` (the same
    numbers, a little slower). A wrong ``input_width`` fails when the graph
    runs (the pooled axis would not be 1), never silently.
    """
    import onnx
    from onnx import helper, numpy_helper

    graph = proto.graph
    initializers = {init.name: init for init in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {out.name for out in graph.output}
    widths = _static_last_dims(proto)

    def only_consumer(node: Any, op: str) -> Any | None:
        if node.output[0] in graph_outputs:
            return None
        found = consumers.get(node.output[0], [])
        return found[0] if len(found) == 1 and found[0].op_type == op else None

    def constant(name: str) -> tuple[np.ndarray, bool] | None:
        """``(float32 value, stored as float16)`` of an initializer or a Cast of one; ``None`` otherwise."""
        if name in initializers:
            return numpy_helper.to_array(initializers[name]).astype(np.float32), False
        cast = producers.get(name)
        if cast is not None and cast.op_type == "Cast" and cast.input[0] in initializers:
            source = initializers[cast.input[0]]
            return numpy_helper.to_array(source).astype(np.float32), source.data_type == FLOAT16
        return None

    replaced: dict[int, list[Any]] = {}
    removed: set[int] = set()
    new_initializers: list[Any] = []
    casts: list[Any] = []
    for conv in list(graph.node):
        if conv.op_type != "Conv" or len(conv.input) < 2:
            continue
        relu = only_consumer(conv, "Relu")
        bn = relu is not None and only_consumer(relu, "BatchNormalization")
        reduce = bn and only_consumer(bn, "ReduceMax")
        if not reduce or len(bn.output) != 1 or not _reduces_last_of_four(reduce):
            continue
        kernel = constant(conv.input[1])
        bias = constant(conv.input[2]) if len(conv.input) > 2 and conv.input[2] else (None, False)
        params = [constant(name) for name in bn.input[1:]]
        if kernel is None or bias is None or kernel[0].ndim != 4 or any(p is None for p in params):
            continue
        epsilon = next((helper.get_attribute_value(a) for a in bn.attribute if a.name == "epsilon"), 1e-5)
        gamma, _, _, variance = (p[0] for p in params)  # type: ignore[index]
        sign = np.where(gamma / np.sqrt(variance + epsilon) < 0, -1.0, 1.0).astype(np.float32)
        weights = kernel[0] * sign[:, None, None, None]
        offsets = (bias[0] if bias[0] is not None else np.zeros(len(weights), np.float32)) * sign
        n_out = len(weights)
        padded = -(-n_out // CHANNEL_BLOCK) * CHANNEL_BLOCK
        weights = np.concatenate([weights, np.zeros((padded - n_out, *weights.shape[1:]), np.float32)])
        offsets = np.concatenate([offsets, np.zeros(padded - n_out, np.float32)]).astype(np.float32)

        prefix = f"{conv.name or conv.output[0]}/max_first"
        w_name, b_name = f"{prefix}/W", f"{prefix}/B"
        if kernel[1]:
            new_initializers.append(numpy_helper.from_array(weights.astype(np.float16), w_name + "__float16"))
            casts.append(helper.make_node("Cast", [w_name + "__float16"], [w_name], to=FLOAT, name=w_name + "/cast"))
        else:
            new_initializers.append(numpy_helper.from_array(weights.astype(np.float32), w_name))
        new_initializers += [numpy_helper.from_array(offsets, b_name),
                             numpy_helper.from_array(sign[:, None], f"{prefix}/sign"),
                             numpy_helper.from_array(np.array([3], np.int64), f"{prefix}/axis3")]
        nodes = [helper.make_node("Conv", [conv.input[0], w_name, b_name], [f"{prefix}/conv"], name=f"{prefix}/conv")]
        nodes[0].attribute.extend(conv.attribute)
        width = widths.get(conv.output[0]) or _conv_output_width(conv, input_width)
        if width:  # MaxPool keeps the blocked layout up to the pooled tensor; ReduceMax would reorder first
            nodes += [helper.make_node("MaxPool", [f"{prefix}/conv"], [f"{prefix}/pool4"], kernel_shape=[1, width],
                                       name=f"{prefix}/pool"),
                      helper.make_node("Squeeze", [f"{prefix}/pool4", f"{prefix}/axis3"], [f"{prefix}/pooled"],
                                       name=f"{prefix}/squeeze")]
        else:
            nodes.append(helper.make_node("ReduceMax", [f"{prefix}/conv"], [f"{prefix}/pooled"], axes=[3], keepdims=0,
                                          name=f"{prefix}/pool"))
        pooled = f"{prefix}/pooled"
        if padded != n_out:
            new_initializers += [numpy_helper.from_array(np.array(v, np.int64), f"{prefix}/{k}")
                                 for k, v in (("zero", [0]), ("n_out", [n_out]), ("axis1", [1]))]
            nodes.append(helper.make_node("Slice", [pooled, f"{prefix}/zero", f"{prefix}/n_out", f"{prefix}/axis1"],
                                          [f"{prefix}/sliced"], name=f"{prefix}/slice"))
            pooled = f"{prefix}/sliced"
        nodes += [
            helper.make_node("Mul", [pooled, f"{prefix}/sign"], [f"{prefix}/signed"], name=f"{prefix}/sign"),
            helper.make_node("Relu", [f"{prefix}/signed"], [f"{prefix}/relu"], name=f"{prefix}/relu"),
            helper.make_node("BatchNormalization", [f"{prefix}/relu", *bn.input[1:]], [reduce.output[0]],
                             epsilon=epsilon, name=f"{prefix}/bn"),
        ]
        replaced[id(reduce)] = nodes
        removed |= {id(conv), id(relu), id(bn)}
    if not replaced:
        return 0

    kept = casts + [n for node in graph.node if id(node) not in removed for n in replaced.get(id(node), [node])]
    graph.initializer.extend(new_initializers)
    _drop_unused(graph, kept)
    onnx.checker.check_model(proto)
    return len(replaced)


def _reduces_last_of_four(node: Any) -> bool:
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return len(node.input) == 1 and list(attrs.get("axes", [])) in ([3], [-1]) and attrs.get("keepdims", 1) == 0


def _conv_output_width(conv: Any, input_width: int | None) -> int | None:
    """The last dimension of ``conv``'s output for an input ``input_width`` wide (``None`` if not given)."""
    from onnx import helper

    if input_width is None:
        return None
    attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
    kernel = list(attrs.get("kernel_shape", []))
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    stride = list(attrs.get("strides", [1, 1]))[-1]
    dilation = list(attrs.get("dilations", [1, 1]))[-1]
    if len(kernel) != 2 or len(pads) != 4 or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        return None
    width = (input_width + pads[1] + pads[3] - dilation * (kernel[1] - 1) - 1) // stride + 1
    return width if width > 0 else None


def _static_last_dims(proto: Any) -> dict[str, int]:
    """Each 4-D value's last dimension where shape inference makes it a number (a MaxPool needs its width)."""
    from onnx import shape_inference

    inferred = shape_inference.infer_shapes(proto)
    out = {}
    for info in inferred.graph.value_info:
        dims = info.type.tensor_type.shape.dim
        if len(dims) == 4 and dims[3].HasField("dim_value") and dims[3].dim_value > 0:
            out[info.name] = int(dims[3].dim_value)
    return out


def _drop_unused(graph: Any, nodes: list[Any]) -> None:
    """Set ``graph``'s nodes to ``nodes`` less the casts nothing reads, and drop initializers nothing reads."""
    outputs = {out.name for out in graph.output}
    while True:
        used = {name for node in nodes for name in node.input} | outputs
        still = [n for n in nodes if not (n.op_type == "Cast" and n.output[0] not in used)]
        if len(still) == len(nodes):
            break
        nodes = still
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)


__all__ = ["CHANNEL_BLOCK", "pool_before_batch_norm"]
