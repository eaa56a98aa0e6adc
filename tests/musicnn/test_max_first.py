"""The max-first rewrite of musicnn's front-end (genrekit.musicnn.max_first): same outputs, fewer big passes."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from genrekit.musicnn.max_first import CHANNEL_BLOCK, pool_before_batch_norm


def _branch_graph(rng: np.random.Generator, *, channels: int = 20, extra_consumer: bool = False,
                  half: bool = False, static_width: bool = True) -> onnx.ModelProto:
    """x (N, 1, T, 24) -> Conv(5x7) -> Relu -> BatchNormalization -> ReduceMax(axis 3) -> y (N, C, T')."""
    kernel = rng.standard_normal((channels, 1, 5, 7)).astype(np.float32)
    gamma = rng.standard_normal(channels).astype(np.float32)  # about half negative: both signs are exercised
    gamma[0], gamma[1] = -1.5, 0.0
    inits = [numpy_helper.from_array(rng.standard_normal(channels).astype(np.float32), "B"),
             numpy_helper.from_array(gamma, "gamma"),
             numpy_helper.from_array(rng.standard_normal(channels).astype(np.float32), "beta"),
             numpy_helper.from_array(rng.standard_normal(channels).astype(np.float32), "mean"),
             numpy_helper.from_array(rng.random(channels).astype(np.float32) + 0.1, "var")]
    nodes = []
    if half:
        inits.append(numpy_helper.from_array(kernel.astype(np.float16), "W__float16"))
        nodes.append(helper.make_node("Cast", ["W__float16"], ["W"], to=TensorProto.FLOAT))
    else:
        inits.append(numpy_helper.from_array(kernel, "W"))
    nodes += [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv", pads=[2, 0, 2, 0]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("BatchNormalization", ["r", "gamma", "beta", "mean", "var"], ["n"], epsilon=1e-3),
        helper.make_node("ReduceMax", ["n"], ["y"], axes=[3], keepdims=0),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", channels, 30])]
    if extra_consumer:  # the batch norm's output is also read elsewhere: the chain must stay as it is
        nodes.append(helper.make_node("Identity", ["n"], ["n_copy"]))
        outputs.append(helper.make_tensor_value_info("n_copy", TensorProto.FLOAT, ["n", channels, 30, 18]))
    width = 24 if static_width else "width"
    graph = helper.make_graph(nodes, "branch", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1, 30, width])],
                              outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(proto: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})


@pytest.mark.parametrize("half", [False, True])
@pytest.mark.parametrize("static_width", [True, False])
def test_rewritten_branch_computes_the_same_max(half: bool, static_width: bool) -> None:
    rng = np.random.default_rng(0)
    proto = _branch_graph(rng, half=half, static_width=static_width)
    x = rng.standard_normal((3, 1, 30, 24)).astype(np.float32)
    want = _run(proto, x)[0]

    assert pool_before_batch_norm(proto) == 1
    got = _run(proto, x)[0]

    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("BatchNormalization") == 1
    pooling = "MaxPool" if static_width else "ReduceMax"
    assert ops.index(pooling) < ops.index("Relu") < ops.index("BatchNormalization")  # pooled first
    kernel = next(numpy_helper.to_array(i) for i in proto.graph.initializer if i.name.endswith("/W" + "__float16" * half))
    assert kernel.dtype == (np.float16 if half else np.float32)
    assert kernel.shape[0] % CHANNEL_BLOCK == 0 and kernel.shape[0] >= 20  # zero filters pad to the block
    assert not {"W", "W__float16"} & {i.name for i in proto.graph.initializer}  # the old kernel is gone


def test_a_chain_whose_values_are_read_elsewhere_is_left_alone() -> None:
    proto = _branch_graph(np.random.default_rng(1), extra_consumer=True)
    before = proto.SerializeToString()
    assert pool_before_batch_norm(proto) == 0
    assert proto.SerializeToString() == before


def test_the_shipped_musicnn_networks_are_built_max_first(musicnn_dir) -> None:
    """genrekit.musicnn.graph builds the front-end max-first itself, so the rewrite finds nothing left to do."""
    from genrekit.musicnn.network_file import read_network

    proto = onnx.load_model_from_string(read_network(musicnn_dir / "MSD_musicnn.onnx", "MSD_musicnn"))
    ops = [n.op_type for n in proto.graph.node]
    assert pool_before_batch_norm(proto, input_width=96) == 0
    assert ops.count("MaxPool") == 5  # one per front-end branch
