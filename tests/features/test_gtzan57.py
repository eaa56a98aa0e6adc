"""The ``gtzan57`` set: the Kaggle CSV's names and order, exactness against librosa, ``hpss=False``."""

from __future__ import annotations

import numpy as np
import pytest

import librosa_oracle
from columns import assert_columns_match
from synth import sine, white_noise
from genrekit.audio import load_audio
from genrekit.features import get_feature_set

SR = 22050
KAGGLE = [
    "chroma_stft_mean", "chroma_stft_var", "rms_mean", "rms_var", "spectral_centroid_mean",
    "spectral_centroid_var", "spectral_bandwidth_mean", "spectral_bandwidth_var", "rolloff_mean", "rolloff_var",
    "zero_crossing_rate_mean", "zero_crossing_rate_var", "harmony_mean", "harmony_var", "perceptr_mean",
    "perceptr_var", "tempo",
] + [f"mfcc{k}_{s}" for k in range(1, 21) for s in ("mean", "var")]  # fmt: skip
HPSS_COLUMNS = {"harmony_mean", "harmony_var", "perceptr_mean", "perceptr_var"}


@pytest.fixture(scope="module")
def full():
    return get_feature_set("gtzan57")


@pytest.fixture(scope="module")
def fast():
    return get_feature_set("gtzan57", hpss=False)


def test_columns_are_the_kaggle_csv_columns_in_order(full, fast):
    assert len(KAGGLE) == 57
    assert full.column_names == KAGGLE
    assert fast.column_names == [c for c in KAGGLE if c not in HPSS_COLUMNS]
    assert all(c.description for c in full.columns)
    assert full.options() == {"hpss": True} and fast.options() == {"hpss": False}
    assert full.config_hash() != fast.config_hash()


def test_matches_librosa_on_an_example_recording(full, fast, examples_dir):
    y = load_audio(examples_dir / "jazz_kevin_macleod_vibe_ace.ogg", duration=12)
    values = full.extract(y, SR)
    assert_columns_match(full.column_names, values, librosa_oracle.gtzan57(y, SR), "jazz example")
    fast_values = dict(zip(fast.column_names, fast.extract(y, SR)))
    assert fast_values == {n: v for n, v in zip(full.column_names, values) if n in fast_values}


@pytest.mark.gtzan
@pytest.mark.slow
def test_matches_librosa_on_a_whole_gtzan_clip(full, gtzan_root):
    y = load_audio(gtzan_root / "reggae" / "reggae.00002.mp3")
    assert_columns_match(full.column_names, full.extract(y, SR), librosa_oracle.gtzan57(y, SR), "reggae.00002")


@pytest.mark.parametrize(
    "label,y",
    [("sine", sine(440.0, 3.0)), ("quiet sine", sine(3000.0, 3.0, amplitude=0.01)), ("noise", white_noise(3.0))],
)
def test_matches_librosa_on_synthetic_signals(full, label, y):
    assert_columns_match(full.column_names, full.extract(y, SR), librosa_oracle.gtzan57(y, SR), label)


def test_silence_gives_documented_values(full):
    values = dict(zip(full.column_names, full.extract(np.zeros(3 * SR, np.float32), SR)))
    assert values.pop("mfcc1_mean") == pytest.approx(-100.0 * np.sqrt(128))
    assert values.pop("tempo") == 0.0
    assert all(abs(v) < 1e-6 for v in values.values())


def test_short_windows_are_finite(fast):
    for length in (1, 100, 3 * SR):
        assert np.isfinite(fast.extract(white_noise(3.0)[:length], SR)).all()
