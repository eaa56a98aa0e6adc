"""ONNX sessions: a graph that fails while running is reported by genrekit alone, never by onnxruntime's raw log."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from genrekit.runtime import onnx_session


def _failing_graph() -> bytes:
    """Gathers column 10**9 of a 3-column input, in a node whose name carries a terminal escape."""
    graph = helper.make_graph(
        [helper.make_node("Gather", ["x", "index"], ["y"], axis=1, name="\x1b[31mred")],
        "failing", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
        [numpy_helper.from_array(np.array([10**9], dtype=np.int64), "index")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_a_graph_that_fails_at_run_time_raises_and_onnxruntime_prints_nothing(tmp_path):
    path = tmp_path / "failing.onnx"
    path.write_bytes(_failing_graph())
    onnx.checker.check_model(onnx.load(path))
    code = ("import sys, numpy as np\n"
            "from genrekit.runtime import onnx_session\n"
            f"s = onnx_session(open({str(path)!r}, 'rb').read())\n"
            "try:\n    s.run(None, {'x': np.zeros((1, 3), np.float32)})\n"
            "except Exception as e:\n    print('raised', type(e).__name__)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("raised")
    assert "\x1b" not in done.stderr and "Gather" not in done.stderr  # onnxruntime's own log stayed quiet


def test_a_session_still_runs_a_good_graph():
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "ok",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])])
    session = onnx_session(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    np.testing.assert_array_equal(session.run(None, {"x": np.array([[-1.0, 2.0]], np.float32)})[0], [[0.0, 2.0]])
