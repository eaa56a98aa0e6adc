"""musicnn's input: the float32 log-mel front-end against librosa, patching, and the float16 overflow it avoids."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.musicnn import frontend


@pytest.fixture(scope="module")
def mel_basis() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=16000, n_fft=512, n_mels=96, dtype=np.float32)


def test_patch_length_is_musicnns_three_seconds():
    import librosa

    assert frontend.PATCH_FRAMES == librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
    assert frontend.hop_frames(None) == frontend.PATCH_FRAMES
    for seconds in (0.5, 1.0, 1.5, 2.9):
        assert frontend.hop_frames(seconds) == librosa.time_to_frames(seconds, sr=16000, n_fft=512, hop_length=256)
    with pytest.raises(ValueError):
        frontend.hop_frames(0)


def test_log_mel_matches_librosa_in_float32(mel_basis):
    import librosa

    rng = np.random.default_rng(1)
    t = np.arange(16000 * 2) / 16000
    y = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    ours = frontend.log_mel(y, mel_basis)
    power = librosa.feature.melspectrogram(y=y, sr=16000, hop_length=256, n_fft=512, n_mels=96, pad_mode="reflect").T
    theirs = np.log10(10000 * power + 1)
    assert ours.dtype == np.float32
    assert ours.shape == theirs.shape == (1 + len(y) // 256, 96)
    np.testing.assert_allclose(ours, theirs, atol=2e-5)


def test_hann_window_is_scipys_periodic_hann():
    from scipy.signal import get_window

    np.testing.assert_allclose(frontend.hann_window(512), get_window("hann", 512), atol=1e-7)


def test_loud_audio_stays_finite_where_musicnns_float16_cast_overflows(mel_basis):
    t = np.arange(16000 * 3) / 16000
    y = (0.99 * np.sign(np.sin(2 * np.pi * 100 * t))).astype(np.float32)  # a full-scale square wave
    mel_power = frontend.power_spectrogram(y) @ mel_basis.T
    with np.errstate(over="ignore"):
        musicnn_input = np.log10(10000 * mel_power.astype(np.float16) + 1)  # musicnn 0.1.0's batch_data
    assert np.isinf(musicnn_input).any()
    ours = frontend.log_mel(y, mel_basis)
    assert np.isfinite(ours).all()
    assert ours.max() > np.log10(65504)  # exactly the bins float16 cannot hold


def test_patches_are_cut_without_overlap_and_the_rest_dropped(mel_basis):
    y = np.random.default_rng(0).uniform(-0.5, 0.5, 16000 * 10).astype(np.float32)
    logmel = frontend.log_mel(y, mel_basis)
    patches, starts = frontend.signal_patches(y, mel_basis)
    n = (len(logmel) - 187) // 187 + 1
    assert patches.shape == (n, 187, 96) and patches.dtype == np.float32
    np.testing.assert_array_equal(patches[1], logmel[187:374])
    np.testing.assert_allclose(starts, np.arange(n) * 187 * 256 / 16000)


def test_overlapping_patches_follow_the_hop(mel_basis):
    y = np.random.default_rng(0).uniform(-0.5, 0.5, 16000 * 6).astype(np.float32)
    logmel = frontend.log_mel(y, mel_basis)
    hop = frontend.hop_frames(1.0)
    patches, starts = frontend.signal_patches(y, mel_basis, hop=hop)
    assert len(patches) == (len(logmel) - 187) // hop + 1
    np.testing.assert_array_equal(patches[2], logmel[2 * hop : 2 * hop + 187])


def test_short_signals_are_repeat_padded_to_one_patch(mel_basis):
    y = np.random.default_rng(0).uniform(-0.5, 0.5, 16000).astype(np.float32)
    patches, starts = frontend.signal_patches(y, mel_basis)
    assert patches.shape == (1, 187, 96)
    assert starts.tolist() == [0.0]
    padded = frontend.repeat_pad(y, frontend.min_samples())
    assert len(padded) == frontend.min_samples()
    np.testing.assert_array_equal(padded[16000:32000], y)


def test_bad_signals_are_rejected(mel_basis):
    with pytest.raises(ValueError, match="empty"):
        frontend.repeat_pad(np.zeros(0, np.float32), 10)
    with pytest.raises(ValueError, match="NaN"):
        frontend.log_mel(np.full(2000, np.nan, np.float32), mel_basis)
    with pytest.raises(ValueError, match="mono"):
        frontend.power_spectrogram(np.zeros((2, 2000), np.float32))
