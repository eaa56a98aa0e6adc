"""The ``musicnn`` feature set: columns, batching, registry, and the error when weights are missing."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.features.musicnn_set import MusicnnFeatureSet
from genrekit.musicnn.paths import MusicnnNotInstalledError


def signals() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    t = np.arange(16000 * 5) / 16000
    return [
        (0.4 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32),
        rng.uniform(-0.4, 0.4, 16000 * 3).astype(np.float32),
        rng.uniform(-0.4, 0.4, 16000 * 1).astype(np.float32),  # shorter than a patch
    ]


def test_columns_and_config():
    plain = MusicnnFeatureSet()
    assert plain.sample_rate == 16000
    assert len(plain.columns) == 400
    assert plain.column_names[0] == "musicnn_mean_000" and plain.column_names[-1] == "musicnn_max_199"
    tagged = MusicnnFeatureSet(model="MTT_musicnn", tags=True)
    names = tagged.column_names
    assert len(names) == 450 == len(set(names))
    assert "musicnn_tag_no_vocals" in names and "musicnn_tag_no_vocal" in names
    assert plain.config_hash() != tagged.config_hash() != MusicnnFeatureSet(model="MTT_musicnn").config_hash()
    # Where the weights are read from does not change the numbers, so it is not part of the config.
    assert MusicnnFeatureSet(data_dir="/elsewhere").config() == plain.config()
    with pytest.raises(ValueError, match="unknown musicnn model"):
        MusicnnFeatureSet(model="MSD_vgg")
    with pytest.raises(ValueError, match="hop"):
        MusicnnFeatureSet(hop=0)


def test_extract_many_batches_and_matches_extract(musicnn_dir):
    fs = MusicnnFeatureSet(tags=True, data_dir=musicnn_dir)
    ys = signals()
    table = fs.extract_many(ys, 16000)
    assert table.shape == (3, 450) and table.dtype == np.float64
    for y, row in zip(ys, table):
        np.testing.assert_allclose(fs.extract(y, 16000), row, atol=1e-4)
    assert np.isfinite(table).all()
    # max >= mean for every unit; tag scores are probabilities
    assert np.all(table[:, 200:400] >= table[:, :200] - 1e-6)
    assert np.all((table[:, 400:] >= 0) & (table[:, 400:] <= 1))
    # different audio, different embeddings
    assert not np.allclose(table[0, :400], table[1, :400])
    assert fs.extract_many([], 16000).shape == (0, 450)


def test_registered_by_name(musicnn_dir):
    from genrekit.features import get_feature_set

    fs = get_feature_set("musicnn", tags=True, data_dir=musicnn_dir)
    assert isinstance(fs, MusicnnFeatureSet) and fs.tags


def test_missing_weights_say_how_to_install(tmp_path):
    fs = MusicnnFeatureSet(data_dir=tmp_path)  # building the set needs no weights
    with pytest.raises(MusicnnNotInstalledError, match="genrekit models install musicnn"):
        fs.extract(np.zeros(16000 * 3, np.float32), 16000)
