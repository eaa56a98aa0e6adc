"""Fixtures for command-line tests: an isolated feature cache and tiny registered feature sets."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from typer.testing import CliRunner, Result

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
    from genrekit.features import registry

    available_feature_sets()  # load the built-in sets first, so they cannot overwrite ours later
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    register_feature_set(MeanStd.name, MeanStd)
    register_feature_set(WithHpss.name, WithHpss)
    monkeypatch.setattr(MeanStd, "calls", 0)
    monkeypatch.setattr(MeanStd, "fail_after", None)
    return MeanStd


def invoke_cli(*args: object) -> Result:
    """Run ``genrekit ARGS`` in-process (typer's runner); stdout and stderr are kept apart."""
    from genrekit.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="session")
def cli() -> Callable[..., Result]:
    """:func:`invoke_cli`: ``cli("train", source, "--model", "rf")``."""
    return invoke_cli


@pytest.fixture(scope="session")
def cli_model(cli, tiny_collection: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model file trained by ``genrekit train`` (seed features, logreg, 1 s windows) on ``tiny_collection``."""
    out = tmp_path_factory.mktemp("cli-model") / "cli.genre"
    result = cli("train", tiny_collection, "-o", out, "--set", "seed", "--model", "logreg", "--window", "1",
                 "--hop", "0.5", "-q")
    assert result.exit_code == 0, result.output
    return out
