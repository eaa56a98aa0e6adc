"""musicnn's ``vgg`` networks (MSD_vgg, MTT_vgg) as an ONNX graph, float32 arithmetic throughout.

Re-implements ``vgg`` of musicnn 0.1.0 (``models.py``, ``num_filters=128``) in
NCHW layout with H = time (frames) and W = mel bands, on the log-mel patch
``(N, 1, 187, 96)`` after an input batch norm:

* five blocks of a 3x3 conv (128 filters, TensorFlow "same" padding: 1 on
  every side), ReLU, batch norm, and a max-pool with TensorFlow's "valid"
  padding: 4x1 stride 2 (time 187 -> 92, frequency 96 -> 48), then 2x2 stride 2
  three times (-> 46x24, 23x12, 11x6), then 4x4 stride 4 (-> 2x1);
* the last pooled block flattened in TensorFlow's NHWC order (time, frequency,
  channel: 256 values, the *penultimate* layer here: what the output layer
  reads) and a dense layer to 50 logits, sigmoid (tags).

Besides, ``max_pool`` and ``mean_pool`` (128 each) pool the last conv block
(after its batch norm, before the 4x4 pooling) over all its 11x6 positions:
a summary of the deepest features that does not depend on where in the patch
they occur. Dropout is inactive at inference. The flatten fixes the input at
187 frames (musicnn's extractor refuses other lengths for vgg too).
``tests/musicnn/test_parity.py`` checks the outputs against TensorFlow's.
"""

from __future__ import annotations

import numpy as np

from genrekit.musicnn.onnx_builder import GraphBuilder

N_MELS = 96
N_FRAMES = 187
BLOCKS = (("conv1", (4, 1), (2, 2)), ("conv2", (2, 2), (2, 2)), ("conv3", (2, 2), (2, 2)),
          ("conv4", (2, 2), (2, 2)), ("conv5", (4, 4), (4, 4)))
"""Each conv block and the max-pool after it: (layer, pool size, strides), as ``models.vgg`` has them."""


def build_vgg_onnx(weights: dict[str, np.ndarray], *, name: str = "vgg", check: bool = True, half: bool = False,
                   metadata: dict[str, str] | None = None, keep_float32: tuple[str, ...] = ()):
    """The vgg network as an ``onnx.ModelProto``.

    Input ``mel``: ``(N, 187, 96)`` float32 log-mel patches. Outputs: ``taggram`` ``(N, 50)``,
    ``penultimate`` ``(N, 256)`` (the flattened last pooling), ``max_pool`` and ``mean_pool``
    ``(N, 128)`` (the last conv block over time and frequency), ``logits`` ``(N, 50)``.
    """
    g = GraphBuilder(half=half, keep_float32=keep_float32)
    node, const, const_i64 = g.node, g.const, g.const_i64

    x = node("Unsqueeze", ["mel", const_i64("axis1", [1])], "mel_4d")  # (N, 1, T, 96)
    x = g.batch_norm(x, "input", weights)
    for layer, pool, strides in BLOCKS:
        kernel = weights[f"{layer}.kernel"].transpose(3, 2, 0, 1)  # HWIO -> OIHW
        conv = node("Conv", [x, const(f"{layer}.W", kernel), const(f"{layer}.B", weights[f"{layer}.bias"])],
                    f"{layer}_conv", pads=[1, 1, 1, 1])
        block = g.batch_norm(node("Relu", [conv], f"{layer}_relu"), layer, weights)
        if layer == BLOCKS[-1][0]:
            node("ReduceMax", [block], "max_pool", axes=[2, 3], keepdims=0)
            node("ReduceMean", [block], "mean_pool", axes=[2, 3], keepdims=0)
        x = node("MaxPool", [block], f"{layer}_pool", kernel_shape=list(pool), strides=list(strides))
    nhwc = node("Transpose", [x], "pool5_nhwc", perm=[0, 2, 3, 1])  # TensorFlow's flatten order
    node("Reshape", [nhwc, const_i64("flat_shape", [0, -1])], "penultimate")
    logits = node("Gemm", ["penultimate", const("output.W", weights["output.kernel"]),
                           const("output.B", weights["output.bias"])], "logits")
    node("Sigmoid", [logits], "taggram")

    n_tags = weights["output.kernel"].shape[1]
    n_pen = weights["output.kernel"].shape[0]
    n_filters = weights["conv5.kernel"].shape[3]
    return g.model(
        name,
        [("mel", ["batch", N_FRAMES, N_MELS])],
        [("taggram", ["batch", n_tags]), ("penultimate", ["batch", n_pen]), ("max_pool", ["batch", n_filters]),
         ("mean_pool", ["batch", n_filters]), ("logits", ["batch", n_tags])],
        metadata or {},
        check=check,
    )


__all__ = ["BLOCKS", "N_FRAMES", "build_vgg_onnx"]
