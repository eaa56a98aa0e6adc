"""The ``seed`` set: names, exactness against librosa, synthetic and degenerate windows."""

from __future__ import annotations

import numpy as np
import pytest

import librosa_oracle
from columns import assert_columns_match
from synth import sine, white_noise
from genrekit.audio import load_audio
from genrekit.features import get_feature_set

SR = 22050
EXPECTED = [f"mfcc{k}_{s}" for k in range(1, 21) for s in ("mean", "var")] + [
    "zero_crossing_rate_mean",
    "zero_crossing_rate_var",
    "spectral_centroid_mean",
    "spectral_centroid_var",
]


@pytest.fixture(scope="module")
def seed():
    return get_feature_set("seed")


def test_columns_are_named_like_gtzan57(seed):
    assert seed.column_names == EXPECTED
    assert all(c.description for c in seed.columns)
    assert set(EXPECTED) <= set(get_feature_set("gtzan57").column_names)


@pytest.mark.parametrize("name", ["classical_brahms_hungarian_dance_5.ogg", "country_emegeme_country.mp3"])
def test_matches_librosa_on_example_recordings(seed, examples_dir, name):
    y = load_audio(examples_dir / name, duration=30)
    assert_columns_match(seed.column_names, seed.extract(y, SR), librosa_oracle.seed(y, SR), name)


@pytest.mark.gtzan
def test_matches_librosa_on_a_gtzan_clip(seed, gtzan_root):
    y = load_audio(gtzan_root / "hiphop" / "hiphop.00004.mp3")
    assert_columns_match(seed.column_names, seed.extract(y, SR), librosa_oracle.seed(y, SR), "hiphop.00004")


@pytest.mark.filterwarnings("ignore:n_fft=2048 is too large")
@pytest.mark.parametrize(
    "label,y",
    [
        ("sine", sine(440.0, 3.0)),
        ("noise", white_noise(3.0)),
        ("3 s of quiet noise", 1e-4 * white_noise(3.0)),
        ("one sample", np.array([0.3], np.float32)),
    ],
)
def test_matches_librosa_on_synthetic_signals(seed, label, y):
    assert_columns_match(seed.column_names, seed.extract(y, SR), librosa_oracle.seed(y, SR), label)


def test_known_values_of_synthetic_signals(seed):
    tone = dict(zip(seed.column_names, seed.extract(sine(1500.0, 3.0), SR)))
    assert tone["spectral_centroid_mean"] == pytest.approx(1500.0, rel=0.02)
    assert tone["zero_crossing_rate_mean"] * SR == pytest.approx(3000.0, rel=0.02)
    noise = dict(zip(seed.column_names, seed.extract(white_noise(3.0), SR)))
    assert noise["zero_crossing_rate_mean"] == pytest.approx(0.5, abs=0.01)
    assert noise["spectral_centroid_mean"] == pytest.approx(SR / 4, rel=0.05)


def test_silence_gives_documented_values(seed):
    values = dict(zip(seed.column_names, seed.extract(np.zeros(3 * SR, np.float32), SR)))
    assert values.pop("mfcc1_mean") == pytest.approx(-100.0 * np.sqrt(128))
    assert all(abs(v) < 1e-6 for v in values.values())


def test_three_second_windows_and_rate_check(seed, examples_dir):
    y = load_audio(examples_dir / "metal_muldjord_armygeddon.ogg", duration=9)
    rows = seed.extract_many([y[i : i + 3 * SR] for i in range(0, 9 * SR, 3 * SR)], SR)
    assert rows.shape == (3, 44) and rows.dtype == np.float64 and np.isfinite(rows).all()
    assert not np.allclose(rows[0], rows[1])
    with pytest.raises(ValueError, match="resample"):
        seed.extract(y, 44100)
