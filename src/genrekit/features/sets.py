"""Built-in feature sets, registered by name.

- ``seed``: 20 MFCCs, zero-crossing rate and spectral centroid, mean and variance (44 columns).
- ``gtzan57``: the 57 columns of the GTZAN Kaggle ``features_30_sec.csv``;
  ``hpss=False`` drops the 4 harmonic/percussive columns (53).
- ``default``: genrekit's best hand-crafted set, 37 columns (see :mod:`genrekit.features.default`);
  ``groups=[...]`` picks other column groups.

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


def _logmel(**options: Any) -> FeatureSet:
    from genrekit.features.logmel import LogMelFeatureSet

    return LogMelFeatureSet(**options)


def _musicnn_mel() -> FeatureSet:
    from genrekit.features.logmel import MusicnnMelFeatureSet

    return MusicnnMelFeatureSet()


BUILTIN_FACTORIES: dict[str, Callable[..., FeatureSet]] = {
    "seed": _seed, "gtzan57": _gtzan57, "default": _default, "musicnn": _musicnn,
    "logmel": _logmel, "musicnn_mel": _musicnn_mel,
}
"""The sets genrekit ships, by name; each factory imports its module only when the set is built."""
