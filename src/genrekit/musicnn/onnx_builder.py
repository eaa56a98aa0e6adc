"""The few ONNX-building steps both musicnn architectures share: constants, nodes, batch norm, float16 storage.

Used only when a network is converted (``genrekit models install musicnn``) or
built from float32 weights in memory (tests, ``--init musicnn``); running a
shipped network never imports ``onnx``.

float16 storage: a kernel (a constant named ``*.W``) of at least
:data:`HALF_MIN_ELEMENTS` values can be stored as float16 with a ``Cast`` back
to float32 in front of the graph. onnxruntime folds those casts once, at load, so the arithmetic stays
float32 and only the weights are rounded (the error is measured and recorded
by the converter, see :mod:`genrekit.musicnn.installer`).
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

BN_EPSILON = 1e-3
"""TensorFlow's ``batch_normalization`` default, which musicnn keeps."""
OPSET = 17
IR_VERSION = 8  # readable by onnxruntime >= 1.14
HALF_MIN_ELEMENTS = 8192
"""Smaller kernels stay float32: they would save under 16 KB each, and the small kernels of musicnn's first
layers (temporal 32x1 and 64x1, vgg's first 3x3) are where float16 rounding costs the most (measured)."""
KERNEL_SUFFIX = ".W"
HALF_SUFFIX = "__float16"


class GraphBuilder:
    """Collects nodes and initializers in creation order (so the serialized bytes are the same on every run)."""

    def __init__(self, *, half: bool = False, keep_float32: Iterable[str] = ()) -> None:
        from onnx import helper, numpy_helper  # deferred: only conversion and in-memory builds need onnx

        self._helper, self._numpy_helper = helper, numpy_helper
        self.half = half
        self.keep_float32 = frozenset(keep_float32)
        self.nodes: list[Any] = []
        self.casts: list[Any] = []
        self.inits: list[Any] = []
        self.halved: list[str] = []
        self._shared: set[str] = set()

    def const(self, key: str, value: np.ndarray) -> str:
        """A float32 constant named ``key`` (stored as float16 where the policy says so).

        Biases, signs and batch-norm parameters always stay float32: small, and rounding them shifts every value.
        """
        from onnx import TensorProto

        value = np.ascontiguousarray(value, dtype=np.float32)
        if (self.half and key.endswith(KERNEL_SUFFIX) and value.size >= HALF_MIN_ELEMENTS
                and key not in self.keep_float32):
            self.inits.append(self._numpy_helper.from_array(value.astype(np.float16), key + HALF_SUFFIX))
            self.casts.append(self._helper.make_node("Cast", [key + HALF_SUFFIX], [key], name=key + "__to_float32",
                                                     to=TensorProto.FLOAT))
            self.halved.append(key)
        else:
            self.inits.append(self._numpy_helper.from_array(value, key))
        return key

    def const_i64(self, key: str, value) -> str:
        """An int64 constant (axes, shapes), created once however often it is used."""
        if key not in self._shared:
            self._shared.add(key)
            self.inits.append(self._numpy_helper.from_array(np.asarray(value, dtype=np.int64), key))
        return key

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        self.nodes.append(self._helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def batch_norm(self, x: str, layer: str, weights: dict[str, np.ndarray]) -> str:
        """TensorFlow's inference-time batch norm of layer ``layer`` (``<layer>.bn.gamma`` ... in ``weights``)."""
        p = f"{layer}.bn."
        args = [self.const(p + part, weights[p + part]) for part in ("gamma", "beta", "moving_mean", "moving_variance")]
        return self.node("BatchNormalization", [x, *args], f"{layer}_bn", epsilon=BN_EPSILON)

    def model(self, name: str, inputs: list[tuple[str, list]], outputs: list[tuple[str, list]],
              metadata: dict[str, str], *, check: bool = True):
        """The finished ``onnx.ModelProto`` (float32 inputs and outputs with the given shapes)."""
        import onnx
        from onnx import TensorProto

        helper = self._helper
        graph = helper.make_graph(
            [*self.casts, *self.nodes], name,
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n, shape in inputs],
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n, shape in outputs],
            initializer=self.inits,
        )
        proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="genrekit")
        proto.ir_version = IR_VERSION
        helper.set_model_props(proto, metadata)
        if check:
            onnx.checker.check_model(proto)
        return proto


__all__ = ["BN_EPSILON", "GraphBuilder", "HALF_MIN_ELEMENTS", "HALF_SUFFIX", "IR_VERSION", "OPSET"]
