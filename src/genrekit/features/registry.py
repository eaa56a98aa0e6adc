"""The registry of named feature sets: built-in ones (:mod:`genrekit.features.sets`) and any registered later.

``get_feature_set("gtzan57", hpss=False)`` builds a set by name;
``"default+musicnn"`` combines sets side by side.
"""

from __future__ import annotations

from typing import Any, Callable

from genrekit.errors import ConfigError
from genrekit.features.base import FeatureSet
from genrekit.features.combined import SEPARATOR, CombinedFeatureSet
from genrekit.features.sets import BUILTIN_FACTORIES

_REGISTRY: dict[str, Callable[..., FeatureSet]] = {}


def register_feature_set(name: str, factory: Callable[..., FeatureSet]) -> None:
    """Make ``factory(**options)`` available as ``get_feature_set(name, **options)``."""
    _REGISTRY[name] = factory


def _ensure_builtin() -> None:
    for name, factory in BUILTIN_FACTORIES.items():
        _REGISTRY.setdefault(name, factory)


def available_feature_sets() -> list[str]:
    _ensure_builtin()
    return sorted(_REGISTRY)


def get_feature_set(name: str, **options: Any) -> FeatureSet:
    """The feature set called ``name``, built with ``options``."""
    _ensure_builtin()
    if SEPARATOR in name:
        return _combine(name, **options)
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown feature set {name!r}; choose from {', '.join(sorted(_REGISTRY))}") from None
    try:
        return factory(**options)
    except TypeError as error:  # an option the set does not take
        raise ConfigError(f"feature set {name!r}: {error}") from None


def feature_set_from_config(config: dict[str, Any]) -> FeatureSet:
    """Rebuild the feature set a model card or feature table recorded (see ``FeatureSet.config``).

    Raises :class:`~genrekit.errors.ConfigError` when the config names an
    unknown set or option, or when this genrekit computes a different version
    of the set: the numbers would not be the ones the model was trained on.
    """
    options = config.get("options", {})
    if not isinstance(options, dict):
        raise ConfigError(f"feature set {config.get('name')!r}: options must be a mapping, got {type(options).__name__}")
    options = dict(options)
    if "members" in options:
        if not isinstance(options["members"], list) or not all(isinstance(m, dict) for m in options["members"]):
            raise ConfigError(f"feature set {config.get('name')!r}: members must be a list of feature-set configs")
        fs: FeatureSet = CombinedFeatureSet([feature_set_from_config(m) for m in options["members"]])
    else:
        fs = get_feature_set(config["name"], **options)
    if str(fs.version) != str(config.get("version")):
        raise ConfigError(
            f"feature set {config['name']!r} version {config.get('version')} was recorded, "
            f"but this genrekit computes version {fs.version}"
        )
    return fs


def _combine(names: str, members: list[dict[str, Any]] | None = None, **options: Any) -> CombinedFeatureSet:
    """``"default+musicnn"`` -> the combined set; ``options`` go to every member that takes them.

    ``members=[{...}, {...}]`` gives each member its own options instead (``"musicnn+musicnn"`` over two networks).
    """
    import inspect

    parts = names.split(SEPARATOR)
    if members is not None:
        if options or not isinstance(members, list) or len(members) != len(parts):
            raise ConfigError(f"{names}: members= needs one options mapping per member ({len(parts)}), and no other options")
        return CombinedFeatureSet([get_feature_set(name, **dict(opts)) for name, opts in zip(parts, members)])
    built = []
    for name in parts:
        probe = get_feature_set(name)
        accepted = inspect.signature(type(probe).__init__).parameters
        built.append(get_feature_set(name, **{k: v for k, v in options.items() if k in accepted}))
    return CombinedFeatureSet(built)


__all__ = ["available_feature_sets", "feature_set_from_config", "get_feature_set", "register_feature_set"]
