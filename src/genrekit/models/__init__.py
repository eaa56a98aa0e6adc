"""Models: classic scikit-learn pipelines and the ONNX + JSON model file.

Names are imported lazily so ``import genrekit.models`` stays cheap (no
scikit-learn or onnxruntime until used).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "MODELS": "genrekit.models.classic",
    "build_pipeline": "genrekit.models.classic",
    "fit_pipeline": "genrekit.models.classic",
    "param_grid": "genrekit.models.classic",
    "search": "genrekit.models.classic",
    "describe_pipeline": "genrekit.models.classic",
    "pipeline_labels": "genrekit.models.classic",
    "GenreModel": "genrekit.models.bundle",
    "FeatureMismatchError": "genrekit.models.bundle",
    "export_pipeline": "genrekit.models.bundle",
    "check_export": "genrekit.models.bundle",
    "save_model": "genrekit.models.bundle",
    "load_model": "genrekit.models.bundle",
    "read_card": "genrekit.models.bundle",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'genrekit.models' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = list(_LAZY)
