"""Harmonic/percussive separation and the inverse STFT (genrekit.features.hpss)."""

from __future__ import annotations

import numpy as np
import pytest

from synth import sine, white_noise
from genrekit.audio import load_audio
from genrekit.features.hpss import harmonic_percussive, istft_frames
from genrekit.features.spectrogram import stft_frames

SR = 22050


@pytest.mark.parametrize("length", [1, 700, 2048, 30001])
def test_istft_inverts_the_stft(length):
    y = white_noise(2.0)[:length]
    np.testing.assert_allclose(istft_frames(stft_frames(y, double=True), length), y, atol=1e-5)


def test_hpss_equals_librosa(examples_dir):
    import librosa

    y = load_audio(examples_dir / "jazz_kevin_macleod_vibe_ace.ogg", offset=5, duration=4)
    harmonic, percussive = harmonic_percussive(y, stft_frames(y, double=True))
    ref_h, ref_p = librosa.effects.hpss(y)
    scale = np.abs(y).max()
    np.testing.assert_allclose(harmonic, ref_h, atol=1e-5 * scale)
    np.testing.assert_allclose(percussive, ref_p, atol=1e-5 * scale)


def test_sine_is_harmonic_and_clicks_are_percussive():
    tone = sine(440.0, 2.0)
    h, p = harmonic_percussive(tone)
    assert np.var(h[4096:-4096]) > 50 * np.var(p[4096:-4096])
    clicks = np.zeros(2 * SR, np.float32)
    clicks[:: SR // 4] = 1.0
    h, p = harmonic_percussive(clicks)
    assert np.var(p) > 5 * np.var(h)
