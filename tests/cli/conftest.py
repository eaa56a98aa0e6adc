"""Fixtures for command-line tests: an isolated feature cache and tiny registered feature sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genrekit.features import Column, FeatureSet, available_feature_sets, register_feature_set


class MeanStd(FeatureSet):
    """Mean and standard deviation of a window; counts its calls (class-wide, across instances)."""

    name = "test-cli-meanstd"
    version = "1"
    calls = 0
    fail_after: int | None = None  # raise KeyboardInterrupt once this many windows are done

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    @property
    def columns(self) -> tuple[Column, ...]:
        return (Column("mean", "mean sample value"), Column("std", "standard deviation of the samples"))

    def options(self) -> dict:
        return {"scale": self.scale}

    def extract(self, y: np.ndarray, sr: int) -> np.ndarray:
        if self.fail_after is not None and type(self).calls >= self.fail_after:
            raise KeyboardInterrupt
        type(self).calls += 1
        return self.scale * np.array([y.mean(), y.std()], dtype=np.float64)


class WithHpss(MeanStd):
    """Like MeanStd, with an ``hpss`` option as gtzan57 has."""

    name = "test-cli-hpss"

    def __init__(self, hpss: bool = True) -> None:
        super().__init__()
        self.hpss = hpss

    def options(self) -> dict:
        return {"hpss": self.hpss}


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the user's cache: GENREKIT_CACHE points into the test's folder."""
    cache = tmp_path / "genrekit-cache"
    monkeypatch.setenv("GENREKIT_CACHE", str(cache))
    return cache


@pytest.fixture
def test_sets(monkeypatch: pytest.MonkeyPatch) -> type[MeanStd]:
    """Register ``test-cli-meanstd`` and ``test-cli-hpss`` for the test's duration."""
    from genrekit import features

    available_feature_sets()  # load the built-in sets first, so they cannot overwrite ours later
    monkeypatch.setattr(features, "_REGISTRY", dict(features._REGISTRY))
    register_feature_set(MeanStd.name, MeanStd)
    register_feature_set(WithHpss.name, WithHpss)
    monkeypatch.setattr(MeanStd, "calls", 0)
    monkeypatch.setattr(MeanStd, "fail_after", None)
    return MeanStd
