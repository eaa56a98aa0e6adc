"""Spectrogram CNNs: defined in torch (``genrekit[train]``), shipped and run as ONNX.

- :mod:`~genrekit.models.cnn.arch`: the networks (a small VGG from scratch; musicnn with a genre head).
- :mod:`~genrekit.models.cnn.export`: torch -> ``model.onnx`` (flat log-mel patch in, probabilities out).

Training them is :mod:`genrekit.trainers.cnn`. Only training needs torch; a
CNN model file predicts with onnxruntime alone, through the ``logmel`` /
``musicnn_mel`` feature sets. Importing this package imports no torch.
"""

from __future__ import annotations

TORCH_HINT = "training CNNs needs torch: pip install 'genrekit[train]'"
FINE_TUNE_LEVELS = ("head", "backend", "midend", "all")  # how deep ``--init musicnn`` training reaches

__all__ = ["FINE_TUNE_LEVELS", "TORCH_HINT"]
