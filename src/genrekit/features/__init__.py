"""Named feature sets (``seed``, ``gtzan57``, ``default``, ...) and their registry.

``get_feature_set("gtzan57", hpss=False)`` builds a set by name; every set
follows :class:`~genrekit.features.base.FeatureSet`.
"""

from __future__ import annotations

from genrekit.features.base import Column, FeatureSet
from genrekit.features.registry import (
    available_feature_sets,
    feature_set_from_config,
    get_feature_set,
    register_feature_set,
)

__all__ = ["Column", "FeatureSet", "available_feature_sets", "feature_set_from_config", "get_feature_set",
           "register_feature_set"]
