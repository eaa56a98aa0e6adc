"""The CNNs' input feature sets: ``logmel`` (22.05 kHz, 3 s patches) and ``musicnn_mel`` (musicnn's own front-end)."""

from __future__ import annotations

import numpy as np
import pytest

from synth import sine, white_noise


def test_logmel_sets_are_registered_with_the_network_input_shape():
    from genrekit.features import available_feature_sets, get_feature_set

    assert {"logmel", "musicnn_mel"} <= set(available_feature_sets())
    fs = get_feature_set("logmel")
    assert fs.shape == (130, 96) and len(fs.columns) == 130 * 96
    assert abs(fs.patch_seconds - 3.0) < 0.01
    y = sine(440.0, seconds=3.0)
    row = fs.extract(y, 22050)
    assert row.shape == (130 * 96,) and np.isfinite(row).all() and row.min() >= 0.0
    # a 440 Hz tone puts its energy in one low band in every frame, not in the top bands
    patch = row.reshape(130, 96)
    assert patch[:, :40].max() > 10 * patch[:, 80:].max()


def test_musicnn_mel_is_exactly_musicnns_own_first_patch():
    from genrekit.features import get_feature_set
    from genrekit.musicnn import frontend
    from genrekit.musicnn.weights import mel_basis

    fs = get_feature_set("musicnn_mel")
    y = white_noise(seconds=3.5, seed=1, sr=16000)
    want, _ = frontend.signal_patches(y, mel_basis())
    got = fs.extract(y, 16000).reshape(fs.shape)
    np.testing.assert_allclose(got, want[0], rtol=1e-6, atol=1e-6)


def test_short_windows_are_repeat_padded_and_wrong_rates_refused():
    from genrekit.features import get_feature_set

    fs = get_feature_set("logmel")
    y = sine(220.0, seconds=1.0)
    np.testing.assert_array_equal(fs.extract(y, 22050), fs.extract(np.tile(y, 4)[: 66048], 22050))
    with pytest.raises(ValueError, match="22050 Hz"):
        fs.extract(y, 16000)


def test_cnn_inputs_need_neither_librosa_nor_numba():
    """A CNN model predicts through these sets: they must not pay librosa's import on every command."""
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from genrekit.features import get_feature_set\n"
            "for name, sr in (('musicnn_mel', 16000), ('logmel', 22050)):\n"
            "    get_feature_set(name).extract(np.zeros(sr * 3, np.float32) + 0.1, sr)\n"
            "print(sorted(m for m in ('librosa', 'numba') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_mel_basis_is_librosas():
    librosa = pytest.importorskip("librosa")
    from genrekit.features import get_feature_set

    for name in ("musicnn_mel", "logmel"):
        fs = get_feature_set(name)
        want = librosa.filters.mel(sr=fs.sample_rate, n_fft=fs.n_fft, n_mels=fs.n_mels, dtype=np.float32)
        np.testing.assert_array_equal(fs.mel_basis(), want)
