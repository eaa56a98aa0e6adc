"""Pooling to mean/var/std, column naming and deltas (genrekit.features.pooling)."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.features.pooling import delta, pool, pooled_columns


def test_pool_interleaves_statistics_per_row():
    x = np.random.default_rng(0).normal(size=(3, 50)).astype(np.float32)
    out = pool(x, ("mean", "var", "std"))
    x64 = x.astype(np.float64)
    expected = np.stack([x64.mean(1), x64.var(1), x64.std(1)], axis=1).ravel()
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert pool(np.arange(4.0)).tolist() == [1.5, 1.25]


def test_pool_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown statistic"):
        pool(np.ones(3), ("median",))
    with pytest.raises(ValueError, match="zero frames"):
        pool(np.ones((2, 0)))


def test_pooled_columns_names_and_meanings():
    cols = pooled_columns([("rms", "the frame RMS", "full scale"), ("zcr", "the zero-crossing rate", "")])
    assert [c.name for c in cols] == ["rms_mean", "rms_var", "zcr_mean", "zcr_var"]
    assert cols[0].description == "Mean over frames of the frame RMS (full scale)"
    assert cols[1].description == "Variance over frames of the frame RMS (full scale²)"
    assert cols[3].description == "Variance over frames of the zero-crossing rate"


@pytest.mark.parametrize("frames", [9, 10, 200])
def test_delta_equals_librosa(frames):
    import librosa

    x = np.random.default_rng(1).normal(size=(4, frames))
    np.testing.assert_allclose(delta(x), librosa.feature.delta(x), atol=1e-12)


def test_delta_of_short_inputs_uses_a_shorter_regression():
    np.testing.assert_allclose(delta(np.arange(5.0)[None]), np.ones((1, 5)))
    assert np.all(delta(np.array([[1.0, 5.0]])) == 0.0)
    assert delta(np.ones((3, 1))).shape == (3, 1)
