"""Combined feature sets (genrekit.features.combined): ``get_feature_set("default+musicnn")`` and the like.

Bad combinations raise ``ValueError`` (genrekit's ``ConfigError`` is one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from synth import white_noise
from genrekit.audio import resample
from genrekit.features import feature_set_from_config, get_feature_set
from genrekit.features.base import Column, FeatureSet
from genrekit.features.combined import CombinedFeatureSet

SR = 22050


class Stats(FeatureSet):
    """A cheap stand-in member: length, RMS and peak of the window, at its own sample rate."""

    name = "stats"
    version = "1"

    def __init__(self, sample_rate: int = SR, prefix: str = "stats") -> None:
        self.sample_rate = sample_rate
        self.prefix = prefix
        self.received: list[tuple[int, int]] = []  # (n_samples, sr) of every window extracted

    @property
    def columns(self) -> tuple[Column, ...]:
        return tuple(Column(f"{self.prefix}_{s}", f"window {s}") for s in ("n_samples", "rms", "peak"))

    def options(self) -> dict[str, Any]:
        return {"sample_rate": self.sample_rate, "prefix": self.prefix}

    def extract(self, y: np.ndarray, sr: int) -> np.ndarray:
        if sr != self.sample_rate:
            raise ValueError(f"stats expects {self.sample_rate} Hz, got {sr} Hz")
        self.received.append((len(y), sr))
        y = np.asarray(y, dtype=np.float64)
        return np.array([len(y), np.sqrt(np.mean(y**2)), np.abs(y).max()])


@pytest.fixture(scope="module")
def musicnn_dir():
    """The installed musicnn weights (``make test`` installs them; like tests/musicnn, fail rather than skip)."""
    from genrekit.musicnn.paths import install_dir, installed_models

    found = installed_models()
    if "MSD_musicnn" not in found:
        pytest.fail(f"musicnn weights not installed in {install_dir()}: run `genrekit models install musicnn`")
    return found["MSD_musicnn"].parent


def test_plus_in_a_name_builds_the_combination_in_member_order():
    fs = get_feature_set("seed+default")
    assert isinstance(fs, CombinedFeatureSet)
    assert fs.name == "seed+default"
    assert [m.name for m in fs.members] == ["seed", "default"]
    assert fs.column_names == get_feature_set("seed").column_names + get_feature_set("default").column_names
    assert fs.sample_rate == SR
    reverse = get_feature_set("default+seed")
    assert reverse.column_names[: len(get_feature_set("default").columns)] == get_feature_set("default").column_names
    assert reverse.config_hash() != fs.config_hash()


def test_a_combined_row_is_each_members_row_side_by_side():
    fs = get_feature_set("seed+default")
    y = white_noise(3.0)
    row = fs.extract(y, SR)
    expected = np.concatenate([get_feature_set("seed").extract(y, SR), get_feature_set("default").extract(y, SR)])
    assert row.shape == (len(fs.columns),) and row.dtype == np.float64
    np.testing.assert_array_equal(row, expected)
    table = fs.extract_many([y, white_noise(2.0)], SR)
    assert table.shape == (2, len(fs.columns))
    np.testing.assert_array_equal(table[0], row)
    assert fs.extract_many([], SR).shape == (0, len(fs.columns))


def test_each_member_gets_the_window_at_its_own_sample_rate():
    first, second = Stats(SR, "a"), Stats(16000, "b")
    fs = CombinedFeatureSet([first, second])
    assert fs.sample_rate == SR  # the first member's rate is the combination's
    y = white_noise(2.0)
    row = fs.extract(y, SR)
    assert first.received == [(len(y), SR)]
    assert second.received == [(len(resample(y, SR, 16000)), 16000)]
    np.testing.assert_allclose(row[3:], Stats(16000, "b").extract(resample(y, SR, 16000), 16000))
    with pytest.raises(ValueError, match="expects audio at 22050 Hz"):
        fs.extract(resample(y, SR, 16000), 16000)


def test_default_plus_musicnn_matches_its_members(musicnn_dir):
    fs = get_feature_set("default+musicnn", data_dir=musicnn_dir, tags=True)  # options go to the members that take them
    default, musicnn = fs.members
    assert musicnn.tags and musicnn.data_dir == musicnn_dir
    assert fs.sample_rate == SR and musicnn.sample_rate == 16000
    assert len(fs.columns) == 37 + 450
    y = white_noise(4.0)
    row = fs.extract(y, SR)
    np.testing.assert_allclose(row[:37], default.extract(y, SR), rtol=0, atol=0)
    np.testing.assert_allclose(row[37:], musicnn.extract(resample(y, SR, 16000), 16000), atol=1e-5)


def test_config_round_trips_and_checks_every_members_version():
    # building and describing a set that has musicnn in it needs no weights
    fs = CombinedFeatureSet([get_feature_set("gtzan57", hpss=False), get_feature_set("musicnn", tags=True)])
    config = fs.config()
    assert config["name"] == "gtzan57+musicnn" and [m["name"] for m in config["options"]["members"]] == ["gtzan57", "musicnn"]
    again = feature_set_from_config(config)
    assert isinstance(again, CombinedFeatureSet)
    assert again.column_names == fs.column_names and again.config_hash() == fs.config_hash()
    assert again.members[0].options() == {"hpss": False} and again.members[1].tags
    config["options"]["members"][1]["version"] = "0"
    with pytest.raises(ValueError, match="version"):
        feature_set_from_config(config)


def test_each_option_reaches_only_the_members_that_take_it():
    fs = get_feature_set("gtzan57+musicnn", hpss=False, tags=True)
    assert len(fs.members[0].columns) == 53
    assert fs.members[1].config() == get_feature_set("musicnn", tags=True).config()
    assert len(fs.columns) == 53 + 450


def test_bad_combinations_are_rejected():
    with pytest.raises(ValueError, match="at least two"):
        CombinedFeatureSet([get_feature_set("seed")])
    with pytest.raises(ValueError, match="share column names"):
        get_feature_set("seed+gtzan57")  # gtzan57 holds seed's MFCC, ZCR and centroid columns
    with pytest.raises(ValueError, match="unknown feature set 'nope'"):
        get_feature_set("default+nope")
