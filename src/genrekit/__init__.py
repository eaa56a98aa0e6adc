"""genrekit: listen to music and name its genre.

The top-level names are imported lazily, so ``import genrekit`` stays cheap
for the command line.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_model": "genrekit.predict",
    "train": "genrekit.training",
    "evaluate": "genrekit.training",
    "load_audio": "genrekit.audio",
    "get_feature_set": "genrekit.features",
    "available_feature_sets": "genrekit.features",
    "load_dataset": "genrekit.datasets",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'genrekit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = ["__version__", *_LAZY]
