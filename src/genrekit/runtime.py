"""The one way genrekit runs an ONNX graph: an onnxruntime session with fixed options, fed in bounded batches.

Every graph genrekit executes (a model file's classifier, musicnn's tagger,
an export check) goes through :func:`onnx_session` and :func:`run_batched`,
so threading, logging, the provider and the memory bound are set in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from genrekit.errors import ModelFileError

if TYPE_CHECKING:
    import onnxruntime


def onnx_session(model_bytes: bytes, *, threads: int = 1, where: str = "model") -> onnxruntime.InferenceSession:
    """A CPU session over a serialized ONNX graph; ``threads`` intra-op threads (0: onnxruntime's default).

    Raises :class:`ModelFileError` naming ``where`` when onnxruntime refuses the graph.
    """
    import onnxruntime as ort  # deferred: onnxruntime costs start-up time the CLI's --help should not pay

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Fatal only: onnxruntime's own error lines go straight to stderr, unescaped, with names a stranger's graph
    # chose; genrekit reports the same failure through its own (escaped) error messages.
    options.log_severity_level = 4
    try:
        return ort.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelFileError(f"{where}: ONNX Runtime cannot load the graph ({exc})") from exc


def run_batched(session: onnxruntime.InferenceSession, inputs: dict[str, np.ndarray], outputs: Sequence[str],
                batch_size: int) -> list[np.ndarray]:
    """Run ``session`` on at most ``batch_size`` rows at a time and concatenate: memory stays bounded.

    ``inputs`` share their first dimension (rows); returns one array per name in ``outputs``.
    """
    n = len(next(iter(inputs.values())))
    if n == 0:
        return [np.zeros((0,), np.float32) for _ in outputs]
    step = max(1, int(batch_size))
    chunks = [session.run(list(outputs), {k: v[i:i + step] for k, v in inputs.items()}) for i in range(0, n, step)]
    return [np.concatenate([c[j] for c in chunks]) for j in range(len(outputs))]


__all__ = ["onnx_session", "run_batched"]
