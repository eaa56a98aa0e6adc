"""Per-frame features for drawing over time (genrekit.features.timeline)."""

from __future__ import annotations

import numpy as np

from genrekit.audio import load_audio
from genrekit.features.timeline import frame_features, mel_band_frequencies

SR = 22050


def test_frame_features_match_librosa(examples_dir):
    import librosa

    y = load_audio(examples_dir / "classical_brahms_hungarian_dance_5.ogg", duration=6)
    ff = frame_features(y, SR)
    n = 1 + len(y) // 512
    assert ff.times.shape == (n,) and ff.mel_db.shape == (128, n) and ff.mfcc.shape == (20, n)
    np.testing.assert_allclose(ff.times, librosa.frames_to_time(np.arange(n), sr=SR))
    np.testing.assert_allclose(ff.mfcc, librosa.feature.mfcc(y=y, sr=SR), atol=1e-2)
    np.testing.assert_allclose(ff.zero_crossing_rate, librosa.feature.zero_crossing_rate(y)[0], atol=1e-12)
    np.testing.assert_allclose(ff.spectral_centroid, librosa.feature.spectral_centroid(y=y, sr=SR)[0], rtol=1e-3)
    np.testing.assert_allclose(ff.rms, librosa.feature.rms(y=y)[0], rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(ff.onset_strength, librosa.onset.onset_strength(y=y, sr=SR), atol=1e-3)
    np.testing.assert_allclose(ff.mel_frequencies, librosa.mel_frequencies(130, fmax=SR / 2)[1:-1])
    assert ff.sr == SR and ff.hop_length == 512


def test_mel_band_frequencies_rise_to_nyquist():
    f = mel_band_frequencies(16000, 40)
    assert f.shape == (40,) and np.all(np.diff(f) > 0) and 0 < f[0] and f[-1] < 8000
