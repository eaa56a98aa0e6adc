"""The shortcuts of the gtzan57 path against the plain computations they replace, and its imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from synth import sine, white_noise
from genrekit.features import rhythm
from genrekit.features import spectral as sp
from genrekit.features.gtzan57 import _first_reaching
from genrekit.features.spectrogram import Spectrogram

SR = 22050


def test_the_gtzan57_path_imports_neither_scipy_nor_librosa_nor_numba():
    code = (
        "import sys, numpy as np\n"
        "from genrekit.features import get_feature_set\n"
        "y = np.random.default_rng(0).uniform(-0.5, 0.5, 3 * 22050).astype(np.float32)\n"
        "get_feature_set('gtzan57', hpss=False).extract(y, 22050)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'librosa', 'numba', 'sklearn')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("n", [1, 2, 7, 128, 1000])
def test_median_is_numpys(n):
    x = np.random.default_rng(n).standard_normal((n, 5)).astype(np.float32)
    np.testing.assert_array_equal(sp.median(x, axis=0), np.median(x, axis=0))
    np.testing.assert_array_equal(sp.median(x.T, axis=1), np.median(x.T, axis=1))
    assert np.isnan(sp.median(np.array([1.0, np.nan, 2.0])))


def test_first_reaching_is_the_first_index_at_or_above_the_threshold():
    rng = np.random.default_rng(1)
    running = np.cumsum(rng.random((50, 1025), dtype=np.float32) ** 4, axis=1)
    running[3] = 0.0  # a silent frame: bin 0
    threshold = 0.85 * running[:, -1]
    np.testing.assert_array_equal(_first_reaching(running, threshold), np.argmax(running >= threshold[:, None], axis=1))
    assert _first_reaching(np.ones((2, 1), np.float32), np.ones(2, np.float32)).tolist() == [0, 0]


def _reference_tuning(S: np.ndarray, sr: int) -> float:
    """The whole-array estimate (np.gradient and the parabola over every bin), as before the shortcut."""
    S = np.abs(S)
    n_fft = 2 * (S.shape[0] - 1)
    freqs = sp.fft_frequencies(sr, n_fft)
    mask = (150.0 <= freqs) & (freqs < min(4000.0, sr / 2))
    ref = 0.1 * np.max(S, axis=0, keepdims=True)
    avg = np.gradient(S, axis=0)
    shift = np.zeros_like(S)
    a = (S[2:] + S[:-2]).astype(np.float64) - 2.0 * S[1:-1].astype(np.float64)
    b = (S[2:] - S[:-2]).astype(np.float64) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        shift[1:-1] = np.where(np.abs(b) >= np.abs(a), 0.0, -b / a)
    z = S * (S > ref)
    peaks = np.zeros(S.shape, bool)
    peaks[1:-1] = (z[1:-1] > z[:-2]) & (z[1:-1] >= z[2:])
    rows, cols = np.nonzero(mask[:, None] & peaks)
    pitch = ((rows + shift[rows, cols]) * float(sr) / n_fft).astype(S.dtype)
    mag = S[rows, cols] + (0.5 * avg * shift)[rows, cols]
    return sp.tuning_from_peaks(pitch, mag)


@pytest.mark.parametrize(
    "y", [white_noise(2.0), sine(440.0 * 2 ** (0.3 / 12), 2.0) + sine(660.0, 2.0), np.zeros(4096, np.float32)]
)
def test_tuning_from_peaks_at_the_peaks_only_equals_the_whole_array_estimate(y):
    power = Spectrogram(y, SR, double=True).power
    assert sp.estimate_tuning(power, SR) == _reference_tuning(power, SR)
    band = sp.tuning_band(SR, 2048)
    frames = np.ascontiguousarray(power.T)
    pieces = [sp.tuning_peak_bins(frames[i : i + 7], band) for i in range(0, len(frames), 7)]
    joined = tuple(np.concatenate(p) for p in zip(*pieces))
    assert sp.tuning_from_peaks(*sp.refine_tuning_peaks(joined, SR, 2048, band)) == sp.estimate_tuning(power, SR)


def test_tempo_profile_is_the_mean_of_the_tempogram():
    env = rhythm.onset_strength(Spectrogram(white_noise(6.0), SR).mel_db)
    bpms, strength = rhythm.tempo_profile(env, SR)
    np.testing.assert_allclose(strength, rhythm.tempogram(env, 344).mean(axis=1), rtol=1e-9, atol=1e-12)
    assert bpms[0] == np.inf
