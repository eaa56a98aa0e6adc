"""Reports: figures (matplotlib, Agg) and self-contained HTML pages.

``render_evaluation_html`` is imported lazily so importing the package does
not import matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"render_evaluation_html": "genrekit.report.evaluation"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'genrekit.report' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = list(_LAZY)
