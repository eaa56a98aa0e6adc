"""Built-in feature sets, registered by name.

- ``seed``: 20 MFCCs, zero-crossing rate and spectral centroid, mean and variance (44 columns).
- ``gtzan57``: the 57 columns of the GTZAN Kaggle ``features_30_sec.csv``;
  ``hpss=False`` drops the 4 harmonic/percussive columns (53).
- ``default``: genrekit's best hand-crafted set, 37 columns (see :mod:`genrekit.features.default`);
  ``groups=[...]`` picks other column groups.
- ``musicnn``: pretrained musicnn embeddings (see :mod:`genrekit.features.musicnn_set`); ``musicnn_penultimate``
  (the 200 units alone, mean over a window's patches), ``musicnn_tags`` (those and the 50 tag scores, one
  pass: the bundled models' input, the tags feeding their prior), ``musicnn_midend``, ``musicnn_taggram``,
  ``vgg``, ``vgg_midend``, ``vgg_taggram`` name its other configurations.

Each module is imported only when its set is built, so listing the sets stays cheap
(deferred imports, on purpose).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from genrekit.features.base import FeatureSet


def _seed() -> FeatureSet:
    from genrekit.features.seed import SeedFeatureSet

    return SeedFeatureSet()


def _gtzan57(hpss: bool = True) -> FeatureSet:
    from genrekit.features.gtzan57 import Gtzan57FeatureSet

    return Gtzan57FeatureSet(hpss=hpss)


def _default(groups: Sequence[str] | None = None) -> FeatureSet:
    from genrekit.features.default import DefaultFeatureSet

    return DefaultFeatureSet(groups=groups)


def _musicnn(**options: Any) -> FeatureSet:
    from genrekit.features.musicnn_set import MusicnnFeatureSet

    return MusicnnFeatureSet(**options)


def _musicnn_preset(**preset: Any) -> Callable[..., FeatureSet]:
    """A named configuration of the ``musicnn`` set (its cards and tables record ``musicnn`` with these options)."""
    return lambda **options: _musicnn(**{**preset, **options})


MUSICNN_PRESETS: dict[str, dict[str, Any]] = {
    "musicnn_penultimate": {"layers": ["penultimate"], "pooling": ["mean"]},
    "musicnn_tags": {"layers": ["penultimate", "taggram"], "pooling": ["mean"]},  # the bundled models' input
    "musicnn_midend": {"layers": ["midend"]},
    "musicnn_taggram": {"layers": ["taggram"], "pooling": ["mean", "std"]},
    "vgg": {"model": "MSD_vgg"},
    "vgg_midend": {"model": "MSD_vgg", "layers": ["midend"]},
    "vgg_taggram": {"model": "MSD_vgg", "layers": ["taggram"], "pooling": ["mean", "std"]},
}
"""musicnn's richer representations by name (``model="MTT_..."`` picks the MagnaTagATune network)."""


def _logmel(**options: Any) -> FeatureSet:
    from genrekit.features.logmel import LogMelFeatureSet

    return LogMelFeatureSet(**options)


def _musicnn_mel() -> FeatureSet:
    from genrekit.features.logmel import MusicnnMelFeatureSet

    return MusicnnMelFeatureSet()


BUILTIN_FACTORIES: dict[str, Callable[..., FeatureSet]] = {
    "seed": _seed, "gtzan57": _gtzan57, "default": _default, "musicnn": _musicnn,
    "logmel": _logmel, "musicnn_mel": _musicnn_mel,
    **{name: _musicnn_preset(**preset) for name, preset in MUSICNN_PRESETS.items()},
}
"""The sets genrekit ships, by name; each factory imports its module only when the set is built."""
