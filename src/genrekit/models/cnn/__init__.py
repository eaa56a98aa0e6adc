"""Spectrogram CNNs: trained with torch (``genrekit[train]``), shipped and run as ONNX.

- :mod:`~genrekit.models.cnn.arch`: the networks (a small VGG from scratch; musicnn with a genre head).
- :mod:`~genrekit.models.cnn.train`: the training loop and :func:`train_cnn` (behind ``genrekit train --model cnn``).
- :mod:`~genrekit.models.cnn.export`: torch -> ``model.onnx`` (flat log-mel patch in, probabilities out).

Only training needs torch; a CNN model file predicts with onnxruntime alone,
through the ``logmel`` / ``musicnn_mel`` feature sets. Importing this package
imports no torch.
"""

from __future__ import annotations

from typing import Any

TORCH_HINT = "training CNNs needs torch: pip install 'genrekit[train]'"
FINE_TUNE_LEVELS = ("head", "backend", "midend", "all")  # how deep ``--init musicnn`` training reaches


def train_cnn(*args: Any, **kwargs: Any) -> Any:
    """See :func:`genrekit.models.cnn.train.train_cnn`; raises ImportError with an install hint without torch."""
    try:
        import torch  # noqa: F401
    except ImportError as error:
        raise ImportError(TORCH_HINT) from error
    from genrekit.models.cnn.train import train_cnn as _train_cnn

    return _train_cnn(*args, **kwargs)


__all__ = ["FINE_TUNE_LEVELS", "TORCH_HINT", "train_cnn"]
