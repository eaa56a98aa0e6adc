"""The shared STFT, mel filters, dB scale and MFCCs against librosa (genrekit.features.spectrogram)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft

from synth import sine, white_noise
from genrekit.audio import load_audio
from genrekit.features import spectrogram as sg

SR = 22050


@pytest.fixture(scope="module")
def example(examples_dir) -> np.ndarray:
    return load_audio(examples_dir / "jazz_kevin_macleod_vibe_ace.ogg", duration=10)


@pytest.mark.parametrize("sr,n_fft,n_mels", [(22050, 2048, 128), (16000, 1024, 64), (44100, 4096, 96)])
def test_mel_filterbank_equals_librosa(sr, n_fft, n_mels):
    import librosa

    ours = sg.mel_filterbank(sr, n_fft, n_mels)
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-9)
    assert not ours.flags.writeable


def test_mel_scale_matches_librosa():
    import librosa

    hz = np.array([0.0, 100.0, 999.0, 1000.0, 4000.0, 11025.0])
    np.testing.assert_allclose(sg.hz_to_mel(hz), librosa.hz_to_mel(hz), rtol=1e-12)
    mels = np.linspace(0, 45, 10)
    np.testing.assert_allclose(sg.mel_to_hz(mels), librosa.mel_to_hz(mels), rtol=1e-12)


def test_dct_matrix_is_orthonormal_dct_ii():
    x = np.random.default_rng(1).normal(size=(128, 7))
    ref = scipy.fft.dct(x, type=2, norm="ortho", axis=0)[:20]
    np.testing.assert_allclose(sg.dct_matrix(20, 128) @ x, ref, atol=1e-10)


BLOCK = sg.BLOCK_FRAMES * sg.HOP_LENGTH


@pytest.mark.filterwarnings("ignore:n_fft=2048 is too large")
@pytest.mark.parametrize("length", [1, 100, 1023, 1024, 2047, 2048, 5000, 22050, BLOCK - 1, BLOCK, BLOCK + 600])
def test_stft_matches_librosa_shape_and_values(length):
    import librosa

    y = white_noise(3.0)[:length]
    ref = librosa.stft(y)
    for double in (False, True):
        ours = sg.stft_frames(y, double=double).T
        assert ours.shape == ref.shape == (1025, sg.n_frames(length))
        assert ours.dtype == np.complex64
        np.testing.assert_allclose(ours, ref, atol=(1e-7 if double else 2e-6) * np.abs(ref).max())


def test_double_precision_stft_keeps_quiet_bins_like_librosa():
    import librosa

    y = sine(440.0, 1.0)
    ref = np.abs(librosa.stft(y))
    quiet = ref < 1e-6 * ref.max()
    ours = np.abs(sg.stft(y, double=True))
    np.testing.assert_allclose(ours[quiet], ref[quiet], atol=1e-9 * ref.max())


def test_power_to_db_matches_librosa():
    import librosa

    S = np.abs(np.random.default_rng(2).normal(size=(20, 30))) ** 4
    S[0, 0] = 0.0
    np.testing.assert_allclose(sg.power_to_db(S), librosa.power_to_db(S), rtol=1e-12)
    np.testing.assert_allclose(sg.power_to_db(S, ref=3.0, top_db=None), librosa.power_to_db(S, ref=3.0, top_db=None))


def test_mel_db_and_mfcc_match_librosa_per_frame(example):
    import librosa

    spec = sg.Spectrogram(example, SR)
    ref_mel = librosa.power_to_db(librosa.feature.melspectrogram(y=example, sr=SR))
    np.testing.assert_allclose(spec.mel_db, ref_mel, atol=1e-3)
    ref = librosa.feature.mfcc(y=example, sr=SR, n_mfcc=20)
    np.testing.assert_allclose(spec.mfcc(20), ref, atol=1e-3 * np.abs(ref).max())
    np.testing.assert_allclose(sg.mfcc(example, SR, n_mfcc=13), ref[:13], atol=1e-3 * np.abs(ref).max())
    np.testing.assert_array_equal(sg.mel_db(example, SR), spec.mel_db)


def test_sine_energy_lands_in_the_mel_band_of_its_frequency():
    from genrekit.features.timeline import mel_band_frequencies

    mel = sg.mel_db(sine(1000.0, 1.0), SR)
    loudest = mel.mean(axis=1).argmax()
    assert abs(mel_band_frequencies(SR)[loudest] - 1000.0) < 40.0


def test_silence_gives_the_amin_floor_and_flat_mfcc():
    spec = sg.Spectrogram(np.zeros(SR, np.float32), SR)
    np.testing.assert_allclose(spec.mel_db, -100.0, rtol=1e-6)
    mfcc = spec.mfcc(20)
    np.testing.assert_allclose(mfcc[0], -100.0 * np.sqrt(128), rtol=1e-6)
    np.testing.assert_allclose(mfcc[1:], 0.0, atol=1e-9)


@pytest.mark.parametrize(
    "bad,message",
    [
        (np.zeros((2, 100), np.float32), "mono"),
        (np.zeros(0, np.float32), "empty"),
        (np.array([0.0, np.nan], np.float32), "NaN"),
        (np.array([0.0, np.inf]), "NaN or infinite"),
    ],
)
def test_bad_signals_are_rejected_with_a_clear_error(bad, message):
    with pytest.raises(ValueError, match=message):
        sg.Spectrogram(bad, SR)


def test_check_window_rejects_another_sample_rate():
    with pytest.raises(ValueError, match="22050 Hz but got audio at 44100 Hz"):
        sg.check_window(np.zeros(10, np.float32), 44100, 22050)
    assert sg.check_window(np.zeros(10), 22050, 22050).dtype == np.float32


def test_frame_times_follow_the_hop():
    np.testing.assert_allclose(sg.frame_times(3, 22050), [0.0, 512 / 22050, 1024 / 22050])


def test_one_pass_gives_stft_power_maps_and_mel_consistently():
    y = white_noise(4.0)
    chroma_like = np.random.default_rng(4).random((12, 1025)).astype(np.float32)
    spec = sg.Spectrogram(y, SR, keep_stft=True, power_maps={"m": chroma_like})
    np.testing.assert_array_equal(spec.stft, sg.stft(y))
    np.testing.assert_array_equal(spec.magnitude, np.abs(sg.stft(y)))
    np.testing.assert_allclose(spec.power_map("m"), chroma_like @ spec.power, rtol=1e-5)
    np.testing.assert_allclose(spec.mel_power, sg.mel_filterbank(SR) @ spec.power, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(sg.mel_spectrogram(spec.power, SR), spec.mel_power, rtol=1e-6)
    with pytest.raises(KeyError, match="no power map"):
        spec.power_map("chroma")
    with pytest.raises(ValueError, match="1025 columns"):
        sg.Spectrogram(y, SR, power_maps={"bad": np.ones((3, 10))})
