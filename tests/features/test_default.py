"""The ``default`` set: columns, exactness of its librosa-defined columns, loudness robustness, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

import librosa_oracle
from columns import assert_columns_match
from synth import sine, white_noise
from genrekit.audio import load_audio
from genrekit.features import get_feature_set
from genrekit.features.default import DEFAULT_GROUPS, GROUPS, DefaultFeatureSet

SR = 22050


@pytest.fixture(scope="module")
def default():
    return get_feature_set("default")


@pytest.fixture(scope="module")
def everything():
    return DefaultFeatureSet(groups=list(GROUPS))


@pytest.fixture(scope="module")
def music(examples_dir) -> np.ndarray:
    return load_audio(examples_dir / "country_emegeme_country.mp3", duration=20)


def test_columns(default, everything):
    assert default.options() == {"groups": list(DEFAULT_GROUPS)}
    assert len(default.columns) == 37
    for fs in (default, everything):
        names = fs.column_names
        assert len(set(names)) == len(names)
        assert all(c.description for c in fs.columns)
    assert everything.config_hash() != default.config_hash()


def test_bad_groups_are_rejected():
    with pytest.raises(ValueError, match="groups must be"):
        DefaultFeatureSet(groups=["mfcc", "nope"])
    with pytest.raises(ValueError, match="groups must be"):
        DefaultFeatureSet(groups=["mfcc", "mfcc"])


def test_matches_librosa_on_an_example_recording(default, music):
    assert_columns_match(default.column_names, default.extract(music, SR), librosa_oracle.default(music, SR), "country")


@pytest.mark.gtzan
def test_matches_librosa_on_a_gtzan_clip(default, gtzan_root):
    y = load_audio(gtzan_root / "metal" / "metal.00002.mp3")
    assert_columns_match(default.column_names, default.extract(y, SR), librosa_oracle.default(y, SR), "metal.00002")


def test_every_group_is_loudness_robust(everything, music):
    reference = everything.extract(music, SR)
    for gain in (0.05, 3.0):
        louder = everything.extract(gain * music, SR)
        np.testing.assert_allclose(louder, reference, rtol=2e-3, atol=1e-3, err_msg=f"{gain=}")


def test_silence_and_short_windows_give_finite_documented_values(everything):
    values = dict(zip(everything.column_names, everything.extract(np.zeros(3 * SR, np.float32), SR)))
    assert values["tempo"] == 0.0 and values["tempo_strength"] == 0.0
    assert values["spectral_flatness_mean"] == pytest.approx(0.0, abs=1e-4)
    assert all(abs(v) < 1e-4 for v in values.values())
    for length in (1, 100, 2048, 3 * SR):
        row = everything.extract(white_noise(3.0)[:length], SR)
        assert row.shape == (len(everything.columns),) and np.isfinite(row).all()


def test_rhythm_columns_see_the_beat():
    clicks = np.zeros(8 * SR, np.float32)
    burst = white_noise(0.02)
    for start in np.arange(0.1, 7.8, 0.5):  # 120 BPM
        clicks[int(start * SR) : int(start * SR) + len(burst)] += burst
    fs = get_feature_set("default")
    values = dict(zip(fs.column_names, fs.extract(clicks, SR)))
    assert values["tempo"] == pytest.approx(120.0, rel=0.03)
    assert values["tempo_strength"] > 0.5
    steady = dict(zip(fs.column_names, fs.extract(sine(440.0, 8.0), SR)))
    assert steady["onset_strength_mean"] < 0.1 * values["onset_strength_mean"]
