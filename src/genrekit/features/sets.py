"""Built-in feature sets, registered by name.

- ``seed``: 20 MFCCs, zero-crossing rate and spectral centroid, mean and variance (44 columns).
- ``gtzan57``: the 57 columns of the GTZAN Kaggle ``features_30_sec.csv``;
  ``hpss=False`` drops the 4 harmonic/percussive columns (53).
- ``default``: genrekit's best hand-crafted set, 37 columns (see :mod:`genrekit.features.default`);
  ``groups=[...]`` picks other column groups.

Each module is imported only when its set is built, so listing the sets stays cheap.
"""

from __future__ import annotations

from typing import Sequence

from genrekit.features import register_feature_set
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


register_feature_set("seed", _seed)
register_feature_set("gtzan57", _gtzan57)
register_feature_set("default", _default)


def _register_musicnn() -> None:
    """musicnn's module registers itself; importing it loads no weights and no onnxruntime."""
    from genrekit.features import musicnn_set  # noqa: F401


_register_musicnn()


def _register_logmel() -> None:
    """The CNN input sets ``logmel`` and ``musicnn_mel`` (see :mod:`genrekit.features.logmel`)."""
    from genrekit.features import logmel  # noqa: F401


_register_logmel()
