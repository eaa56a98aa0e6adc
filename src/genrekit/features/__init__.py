"""Named feature sets (``seed``, ``gtzan57``, ``default``, ...) and their registry.

``get_feature_set("gtzan57", hpss=False)`` builds a set by name; every set
follows :class:`~genrekit.features.base.FeatureSet`.
"""

from __future__ import annotations

from typing import Any, Callable

from genrekit.features.base import Column, FeatureSet

_REGISTRY: dict[str, Callable[..., FeatureSet]] = {}


def register_feature_set(name: str, factory: Callable[..., FeatureSet]) -> None:
    """Make ``factory(**options)`` available as ``get_feature_set(name, **options)``."""
    _REGISTRY[name] = factory


def _ensure_builtin() -> None:
    from genrekit.features import sets  # noqa: F401  (importing it registers the built-in sets)


def available_feature_sets() -> list[str]:
    _ensure_builtin()
    return sorted(_REGISTRY)


def get_feature_set(name: str, **options: Any) -> FeatureSet:
    """The feature set called ``name``, built with ``options``."""
    _ensure_builtin()
    if "+" in name:
        from genrekit.features.combined import combine

        return combine(name, **options)
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown feature set {name!r}; choose from {', '.join(sorted(_REGISTRY))}") from None
    return factory(**options)


def feature_set_from_config(config: dict[str, Any]) -> FeatureSet:
    """Rebuild the feature set a model card or feature table recorded (see ``FeatureSet.config``).

    Raises ValueError when this genrekit computes a different version of it:
    the numbers would not be the ones the model was trained on.
    """
    options = dict(config.get("options", {}))
    if "members" in options:
        from genrekit.features.combined import CombinedFeatureSet

        fs: FeatureSet = CombinedFeatureSet([feature_set_from_config(m) for m in options["members"]])
    else:
        fs = get_feature_set(config["name"], **options)
    if str(fs.version) != str(config.get("version")):
        raise ValueError(
            f"feature set {config['name']!r} version {config.get('version')} was recorded, "
            f"but this genrekit computes version {fs.version}"
        )
    return fs


__all__ = ["Column", "FeatureSet", "available_feature_sets", "feature_set_from_config", "get_feature_set", "register_feature_set"]
