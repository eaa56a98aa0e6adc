"""Onset strength, tempogram and tempo against librosa (genrekit.features.rhythm)."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.audio import load_audio
from genrekit.features import rhythm
from genrekit.features.spectrogram import Spectrogram

SR = 22050


def click_track(bpm: float, seconds: float = 12.0) -> np.ndarray:
    y = np.zeros(int(seconds * SR), np.float32)
    burst = np.random.default_rng(0).uniform(-0.8, 0.8, 300).astype(np.float32)
    for start in np.arange(0.1, seconds - 0.1, 60.0 / bpm):
        i = int(start * SR)
        y[i : i + len(burst)] += burst
    return y


@pytest.fixture(scope="module")
def music(examples_dir) -> np.ndarray:
    return load_audio(examples_dir / "country_emegeme_country.mp3", duration=15)


@pytest.mark.parametrize("aggregate", ["mean", "median"])
def test_onset_strength_equals_librosa(music, aggregate):
    import librosa

    ours = rhythm.onset_strength(Spectrogram(music, SR).mel_db, aggregate=aggregate)
    ref = librosa.onset.onset_strength(y=music, sr=SR, aggregate=getattr(np, aggregate))
    np.testing.assert_allclose(ours, ref, atol=1e-4 * ref.max())


def test_tempogram_and_tempo_equal_librosa(music):
    import librosa

    env = librosa.onset.onset_strength(y=music, sr=SR)
    ref = librosa.feature.tempogram(onset_envelope=env, sr=SR)
    np.testing.assert_allclose(rhythm.tempogram(env, 384), ref, atol=1e-6)
    np.testing.assert_allclose(rhythm.tempogram(env, 384, double=False), ref, atol=1e-5)
    bpm, strength = rhythm.tempo(env, SR)
    assert bpm == librosa.feature.tempo(onset_envelope=env, sr=SR)[0]
    assert 0.0 < strength <= 1.0


@pytest.mark.parametrize("bpm", [90.0, 128.0])
def test_tempo_of_a_click_track_is_its_rate(bpm):
    import librosa

    y = click_track(bpm)
    env = rhythm.onset_strength(Spectrogram(y, SR).mel_db, aggregate="median")
    ours, strength = rhythm.tempo(env, SR)
    assert ours == pytest.approx(bpm, rel=0.03)
    assert strength > 0.5
    assert ours == pytest.approx(float(np.atleast_1d(librosa.beat.beat_track(y=y, sr=SR)[0])[0]))


def test_short_and_silent_envelopes_stay_finite():
    assert rhythm.onset_strength(np.zeros((128, 1), np.float32)).tolist() == [0.0]
    bpms, strength = rhythm.tempo_profile(np.zeros(130), SR)
    assert np.all(strength == 0.0) and bpms[0] == np.inf
    with pytest.raises(ValueError, match="aggregate"):
        rhythm.onset_strength(np.zeros((4, 4)), aggregate="max")  # type: ignore[arg-type]
