"""Per-frame features against librosa, and their known values on synthetic signals (genrekit.features.spectral)."""

from __future__ import annotations

import numpy as np
import pytest

from synth import sine, white_noise
from genrekit.audio import load_audio
from genrekit.features import spectral as sp
from genrekit.features.spectrogram import Spectrogram

SR = 22050


@pytest.fixture(scope="module")
def music(examples_dir) -> np.ndarray:
    return load_audio(examples_dir / "metal_muldjord_armygeddon.ogg", duration=8)


def _signals(music: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    with_zeros = white_noise(0.5)
    with_zeros[::3] = 0.0  # exact zeros count as positive
    with_zeros[1::7] = rng.choice([-1e-11, 1e-11], size=len(with_zeros[1::7]))  # below the zero threshold
    return {
        "music": music,
        "noise": white_noise(1.0),
        "zeros_and_tiny": with_zeros,
        "silence": np.zeros(SR // 2, np.float32),
        "one_sample": np.array([0.25], np.float32),
        "short": white_noise(0.01),
    }


def test_zero_crossing_rate_equals_librosa(music):
    import librosa

    for name, y in _signals(music).items():
        ref = librosa.feature.zero_crossing_rate(y)[0]
        np.testing.assert_allclose(sp.zero_crossing_rate(y), ref, atol=1e-12, err_msg=name)


def test_zero_crossing_rate_of_white_noise_is_one_half():
    # independent symmetric samples change sign half the time; librosa divides 2047 pairs by 2048
    zcr = sp.zero_crossing_rate(white_noise(5.0))
    assert abs(zcr[2:-2].mean() - 0.5 * 2047 / 2048) < 0.005


def test_zero_crossing_rate_of_a_sine_is_twice_its_frequency():
    zcr = sp.zero_crossing_rate(sine(1000.0, 2.0))
    assert abs(zcr[2:-2].mean() * SR - 2000.0) < 20.0


def test_rms_equals_librosa(music):
    import librosa

    for name, y in _signals(music).items():
        ref = librosa.feature.rms(y=y)[0]
        np.testing.assert_allclose(sp.rms(y), ref, rtol=1e-5, atol=1e-9, err_msg=name)
    assert np.all(sp.rms(np.zeros(5000, np.float32)) == 0.0)


def test_rms_of_a_sine_is_amplitude_over_root_two():
    assert abs(np.median(sp.rms(sine(440.0, 1.0, amplitude=0.5))) - 0.5 / np.sqrt(2)) < 1e-3


@pytest.mark.filterwarnings("ignore:n_fft=2048 is too large")
@pytest.mark.parametrize("double", [False, True])
def test_spectral_shape_features_equal_librosa(music, double):
    import librosa

    for name, y in _signals(music).items():
        spec = Spectrogram(y, SR, double=double)
        mag, freqs = spec.magnitude, spec.frequencies
        S = np.abs(librosa.stft(y))
        cases = {
            "centroid": (sp.spectral_centroid(mag, freqs), librosa.feature.spectral_centroid(S=S, sr=SR)[0]),
            "rolloff": (sp.spectral_rolloff(mag, freqs), librosa.feature.spectral_rolloff(S=S, sr=SR)[0]),
        }
        if double or name in ("music", "noise"):  # float32 FFT noise weighs on bandwidth of near-pure tones
            cases["bandwidth"] = (sp.spectral_bandwidth(mag, freqs), librosa.feature.spectral_bandwidth(S=S, sr=SR)[0])
        for feature, (ours, ref) in cases.items():
            assert ours.shape == ref.shape
            if feature == "rolloff":  # a frame may land one 10.8 Hz bin away when its sum sits on the threshold
                assert np.mean(ours != ref) < 0.01, (name, feature)
                np.testing.assert_allclose(ours.mean(), ref.mean(), rtol=1e-3, atol=1e-9, err_msg=f"{name} {feature}")
            else:
                np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-3, err_msg=f"{name} {feature}")


def test_flatness_contrast_chroma_equal_librosa_on_music(music):
    import librosa

    spec = Spectrogram(music, SR, double=True)
    S = np.abs(librosa.stft(music))
    np.testing.assert_allclose(sp.spectral_flatness(spec.power), librosa.feature.spectral_flatness(S=S)[0], rtol=1e-3)
    np.testing.assert_allclose(
        sp.spectral_contrast(spec.magnitude, SR), librosa.feature.spectral_contrast(S=S, sr=SR), rtol=1e-3, atol=1e-3
    )
    np.testing.assert_allclose(
        sp.chroma(spec.power, SR, tuning=0.0), librosa.feature.chroma_stft(S=S**2, sr=SR, tuning=0.0), atol=1e-5
    )


def test_sine_has_centroid_and_rolloff_at_its_frequency():
    spec = Spectrogram(sine(2000.0, 1.0), SR, double=True)
    centroid = sp.spectral_centroid(spec.magnitude, spec.frequencies)[2:-2]
    rolloff = sp.spectral_rolloff(spec.magnitude, spec.frequencies)[2:-2]
    bandwidth = sp.spectral_bandwidth(spec.magnitude, spec.frequencies)[2:-2]
    assert np.all(np.abs(centroid - 2000.0) < 5.0)
    assert np.all(np.abs(rolloff - 2000.0) < 25.0)
    assert np.all(bandwidth < 60.0)


def test_silence_gives_documented_values():
    spec = Spectrogram(np.zeros(SR, np.float32), SR)
    mag, freqs = spec.magnitude, spec.frequencies
    for values in (
        sp.spectral_centroid(mag, freqs),
        sp.spectral_bandwidth(mag, freqs),
        sp.spectral_rolloff(mag, freqs),
        sp.chroma(spec.power, SR),
        sp.spectral_contrast(mag, SR),
    ):
        assert np.all(values == 0.0)
    np.testing.assert_allclose(sp.spectral_flatness(spec.power), 1.0, rtol=1e-6)


def test_rolloff_rejects_a_bad_percentage():
    with pytest.raises(ValueError, match="roll_percent"):
        sp.spectral_rolloff(np.ones((1025, 2), np.float32), np.arange(1025.0), roll_percent=1.5)


@pytest.mark.parametrize("tuning", [-0.5, -0.13, 0.0, 0.27])
def test_chroma_filterbank_equals_librosa(tuning):
    import librosa

    ours = sp.chroma_filterbank(SR, 2048, tuning)
    np.testing.assert_allclose(ours, librosa.filters.chroma(sr=SR, n_fft=2048, tuning=tuning), rtol=1e-6, atol=1e-9)


def test_estimate_tuning_equals_librosa(music):
    import librosa

    detuned = sine(440.0 * 2 ** (0.3 / 12), 1.0) + sine(660.0 * 2 ** (0.3 / 12), 1.0)
    for y in (music, detuned):
        power = Spectrogram(y, SR, double=True).power
        ref = librosa.estimate_tuning(S=np.abs(librosa.stft(y)) ** 2, sr=SR)
        assert sp.estimate_tuning(power, SR) == pytest.approx(ref)
    assert sp.estimate_tuning(Spectrogram(detuned, SR).power, SR) == pytest.approx(0.3, abs=0.02)
    assert sp.estimate_tuning(Spectrogram(np.zeros(4096, np.float32), SR).power, SR) == 0.0
