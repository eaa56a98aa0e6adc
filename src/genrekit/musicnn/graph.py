"""musicnn (Pons & Serra, 2019) as an ONNX graph, float32 arithmetic throughout.

Re-implements ``build_musicnn`` of musicnn 0.1.0 (``models.py``) layer by
layer, in NCHW layout with H = time (frames) and W = mel bands:

* front-end, on the batch-normalised log-mel patch ``(N, 1, T, 96)``:
  timbral convs 7x38 and 7x67 (204 filters each; zero-padded by 3 frames in
  time, valid in frequency) and temporal convs 128x1, 64x1, 32x1 (51 filters
  each, TensorFlow "same" padding: ``(k-1)//2`` before, ``k//2`` after); every
  conv is followed by ReLU, batch norm, and a max over all frequency positions,
  leaving ``(N, 561, T)``;
* mid-end: three 1-D convs over time (kernel 7, 64 filters, zero-padded by 3,
  ReLU then batch norm), the 2nd and 3rd with residual connections; their
  outputs are concatenated with the front-end's (dense connections) into
  ``(N, 753, T)``;
* back-end: max and mean over time, interleaved per feature as TensorFlow's
  ``concat(..., axis=2)`` + ``flatten`` does (``[max_0, mean_0, max_1, ...]``),
  batch norm, dense 200 + ReLU + batch norm (the *penultimate* layer), dense 50
  (logits), sigmoid (tags).

Batch-norm layers use TensorFlow's ``epsilon=0.001``; dropout is inactive at
inference. The front-end takes the max over frequency before ReLU and batch
norm (see ``frontend_branch``): exact, and it spares passes over the largest
tensors. ``tests/musicnn/test_parity.py`` checks the outputs against
musicnn's TensorFlow graph. The time axis is dynamic, so any patch length works (musicnn's
models were trained on 187 frames = 3 s).
"""

from __future__ import annotations

import numpy as np

from genrekit.musicnn.onnx_builder import BN_EPSILON, GraphBuilder

N_MELS = 96
CHANNEL_BLOCK = 16
OUTPUTS = ("taggram", "penultimate", "max_pool", "mean_pool", "logits")


def build_onnx(weights: dict[str, np.ndarray], *, name: str = "musicnn", check: bool = True, half: bool = False,
               metadata: dict[str, str] | None = None, keep_float32: tuple[str, ...] = ()):
    """The musicnn network as an ``onnx.ModelProto``.

    Input ``mel``: ``(N, T, 96)`` float32 log-mel patches (``log10(1 + 10000 * mel_power)``).
    Outputs: ``taggram`` ``(N, 50)`` sigmoid scores, ``penultimate`` ``(N, 200)``,
    ``max_pool`` and ``mean_pool`` ``(N, 753)`` (temporal pooling of the mid-end), ``logits`` ``(N, 50)``.
    ``check`` runs ``onnx.checker`` on the result; ``half`` stores the large kernels as float16
    (see :mod:`genrekit.musicnn.onnx_builder`). The initializers keep names
    :func:`genrekit.musicnn.weights.weights_from_graph` reads back.
    """
    g = GraphBuilder(half=half, keep_float32=keep_float32)
    node, const, const_i64 = g.node, g.const, g.const_i64

    def frontend_branch(x: str, layer: str, pads: list[int]) -> str:
        """Conv -> ReLU -> batch norm -> max over frequency, with the max taken first.

        Batch norm is a per-channel affine map ``a * r + b`` and ReLU is monotone, so
        ``max_f BN(ReLU(c)) = BN(ReLU(max_f c))`` where ``a >= 0`` and ``BN(ReLU(min_f c))``
        where ``a < 0``. Negating those channels' filters turns their min into a max, so one
        max-pool over the raw conv output suffices and the ReLU and batch norm run on
        ``(N, C, T)`` instead of ``(N, C, T, F)``: the same numbers, a fraction of the memory traffic.
        Filters are padded with zero filters to a multiple of 16 so that onnxruntime keeps its
        blocked (NCHWc) layout through the pooling instead of reordering the large conv output.
        """
        p = f"{layer}.bn."
        scale = weights[p + "gamma"] / np.sqrt(weights[p + "moving_variance"] + BN_EPSILON)
        sign = np.where(scale < 0, -1.0, 1.0).astype(np.float32)
        kernel = weights[f"{layer}.kernel"].transpose(3, 2, 0, 1) * sign[:, None, None, None]  # -> (out, in, kh, kw)
        bias = weights[f"{layer}.bias"] * sign
        n_out = kernel.shape[0]
        padded = -(-n_out // CHANNEL_BLOCK) * CHANNEL_BLOCK
        if padded != n_out:  # zero filters up to a multiple of 16 channels, sliced off after pooling
            kernel = np.concatenate([kernel, np.zeros((padded - n_out, *kernel.shape[1:]), np.float32)])
            bias = np.concatenate([bias, np.zeros(padded - n_out, np.float32)])
        conv = node("Conv", [x, const(f"{layer}.W", kernel), const(f"{layer}.B", bias)], f"{layer}_conv", pads=pads)
        # MaxPool (not ReduceMax) keeps onnxruntime's blocked NCHWc layout up to the small pooled tensor.
        width = N_MELS - kernel.shape[3] + 1
        pooled = node("MaxPool", [conv], f"{layer}_maxf", kernel_shape=[1, width])
        pooled = node("Squeeze", [pooled, const_i64("axis3", [3])], f"{layer}_maxf_3d")  # (N, C, T)
        if padded != n_out:
            pooled = node(
                "Slice",
                [pooled, const_i64("zero", [0]), const_i64(f"n{n_out}", [n_out]), const_i64("axis1", [1])],
                f"{layer}_maxf_sliced",
            )
        signed = node("Mul", [pooled, const(f"{layer}.sign", sign[:, None])], f"{layer}_signed")
        return g.batch_norm(node("Relu", [signed], f"{layer}_relu"), layer, weights)

    def conv1d(x: str, layer: str) -> str:
        # musicnn's mid-end convs span the whole feature axis ("width") with 1 input channel:
        # a 1-D conv over time with the features as input channels.
        kernel = weights[f"{layer}.kernel"][:, :, 0, :].transpose(2, 1, 0)  # (7, C, 1, 64) -> (64, C, 7)
        w = const(f"{layer}.W", kernel)
        b = const(f"{layer}.B", weights[f"{layer}.bias"])
        conv = node("Conv", [x, w, b], f"{layer}_conv", pads=[3, 3])
        return g.batch_norm(node("Relu", [conv], f"{layer}_relu"), layer, weights)

    # --- front-end ---------------------------------------------------------------
    x = node("Unsqueeze", ["mel", const_i64("axis1", [1])], "mel_4d")  # (N, 1, T, 96)
    x = g.batch_norm(x, "input", weights)
    branches = [frontend_branch(x, layer, pads=[3, 0, 3, 0]) for layer in ("timbral74", "timbral77")]
    for layer, k in (("temporal128", 128), ("temporal64", 64), ("temporal32", 32)):
        branches.append(frontend_branch(x, layer, pads=[(k - 1) // 2, 0, k // 2, 0]))
    front = node("Concat", branches, "frontend", axis=1)  # (N, 561, T)

    # --- mid-end -----------------------------------------------------------------
    m1 = conv1d(front, "midend1")
    m2 = node("Add", [conv1d(m1, "midend2"), m1], "midend2_res")
    m3 = node("Add", [conv1d(m2, "midend3"), m2], "midend3_res")
    features = node("Concat", [front, m1, m2, m3], "midend", axis=1)  # (N, 753, T)

    # --- back-end ----------------------------------------------------------------
    max_pool = node("ReduceMax", [features], "max_pool", axes=[2], keepdims=0)
    mean_pool = node("ReduceMean", [features], "mean_pool", axes=[2], keepdims=0)
    axis2 = const_i64("axis2", [2])
    max_3d = node("Unsqueeze", [max_pool, axis2], "max_pool_3d")
    mean_3d = node("Unsqueeze", [mean_pool, axis2], "mean_pool_3d")
    pair = node("Concat", [max_3d, mean_3d], "pooled_pair", axis=2)  # (N, 753, 2)
    flat = node("Reshape", [pair, const_i64("flat_shape", [0, -1])], "pooled")  # (N, 1506), max/mean interleaved
    flat = g.batch_norm(flat, "pool", weights)
    dense = node("Gemm", [flat, const("dense.W", weights["dense.kernel"]), const("dense.B", weights["dense.bias"])], "dense")
    penultimate = g.batch_norm(node("Relu", [dense], "dense_relu"), "dense", weights)
    node("Identity", [penultimate], "penultimate")
    logits = node(
        "Gemm", ["penultimate", const("output.W", weights["output.kernel"]), const("output.B", weights["output.bias"])], "logits"
    )
    node("Sigmoid", [logits], "taggram")

    n_tags = weights["output.kernel"].shape[1]
    n_pen = weights["dense.kernel"].shape[1]
    n_feat = weights["dense.kernel"].shape[0] // 2
    return g.model(
        name,
        [("mel", ["batch", "frames", N_MELS])],
        [("taggram", ["batch", n_tags]), ("penultimate", ["batch", n_pen]), ("max_pool", ["batch", n_feat]),
         ("mean_pool", ["batch", n_feat]), ("logits", ["batch", n_tags])],
        metadata or {},
        check=check,
    )


__all__ = ["BN_EPSILON", "OUTPUTS", "build_onnx"]
