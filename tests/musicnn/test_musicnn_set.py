"""The ``musicnn`` feature set: columns, options, layers, batching, registry, and a damaged install."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.errors import ConfigError
from genrekit.features import get_feature_set
from genrekit.features.musicnn_set import MusicnnFeatureSet
from genrekit.musicnn.paths import MusicnnNotInstalledError


def signals() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    t = np.arange(16000 * 7) / 16000
    return [
        (0.4 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32),
        rng.uniform(-0.4, 0.4, 16000 * 3).astype(np.float32),
        rng.uniform(-0.4, 0.4, 16000 * 1).astype(np.float32),  # shorter than a patch
    ]


def test_the_default_columns_and_config_are_the_ones_it_always_had():
    plain = MusicnnFeatureSet()
    assert plain.sample_rate == 16000
    assert len(plain.columns) == 400
    assert plain.column_names[0] == "musicnn_mean_000" and plain.column_names[-1] == "musicnn_max_199"
    # What feature tables and model cards recorded before the new options: unchanged, so they still match.
    assert plain.config() == {"name": "musicnn", "version": "1", "sample_rate": 16000,
                              "options": {"model": "MSD_musicnn", "tags": False, "hop": None}}
    tagged = MusicnnFeatureSet(model="MTT_musicnn", tags=True)
    names = tagged.column_names
    assert len(names) == 450 == len(set(names))
    assert "musicnn_tag_no_vocals" in names and "musicnn_tag_no_vocal" in names
    assert plain.config_hash() != tagged.config_hash() != MusicnnFeatureSet(model="MTT_musicnn").config_hash()
    # Where the networks are read from does not change the numbers, so it is not part of the config.
    assert MusicnnFeatureSet(data_dir="/elsewhere").config() == plain.config()


def test_layers_pooling_and_the_vgg_networks_name_their_columns_after_the_network():
    vgg = MusicnnFeatureSet(model="MSD_vgg")
    assert len(vgg.columns) == 512 and vgg.column_names[0] == "msd_vgg_penultimate_mean_000"
    rich = MusicnnFeatureSet(model="MTT_musicnn", layers=["midend", "taggram"], pooling=["mean", "std"], tags=True)
    assert len(rich.columns) == 2 * 1506 + 2 * 50 + 50 == len(set(rich.column_names))
    assert rich.column_names[0] == "mtt_musicnn_midend_mean_tmax000"
    assert "mtt_musicnn_midend_std_tmean752" in rich.column_names
    assert "mtt_musicnn_taggram_std_guitar" in rich.column_names and rich.column_names[-1].startswith("mtt_musicnn_tag_")
    assert rich.options()["layers"] == ["midend", "taggram"] and rich.options()["pooling"] == ["mean", "std"]
    assert len(MusicnnFeatureSet(model="MSD_vgg", layers="midend").columns) == 2 * 256
    # Saying the default out loud names the columns after the network: MSD and MTT combine side by side.
    msd = MusicnnFeatureSet(layers=["penultimate"])
    mtt = MusicnnFeatureSet(model="MTT_musicnn", layers=["penultimate"])
    assert not set(msd.column_names) & set(mtt.column_names)
    assert msd.config_hash() != MusicnnFeatureSet().config_hash()


@pytest.mark.parametrize("options, message", [
    ({"model": "MSD_musicnn_big"}, "unknown musicnn model"),
    ({"hop": 0}, "hop"),
    ({"layers": ["timbral"]}, "layers must be"),
    ({"layers": []}, "layers must be"),
    ({"pooling": ["median"]}, "pooling must be"),
    ({"pooling": ["mean", "mean"]}, "distinct"),
])
def test_bad_options_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        MusicnnFeatureSet(**options)


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


@pytest.mark.parametrize("model", ["MSD_musicnn", "MTT_vgg"])
def test_the_layers_are_the_networks_outputs_pooled_over_patches(musicnn_dir, model):
    from genrekit.musicnn.model import load

    fs = MusicnnFeatureSet(model=model, layers=["penultimate", "midend", "taggram"], pooling=["mean", "max", "std"],
                           data_dir=musicnn_dir)
    y = signals()[0]  # 7 s: two patches
    row = fs.extract(y, 16000)
    out = load(model, musicnn_dir).analyze(y, 16000, midend=True)
    assert len(out.starts) == 2
    expected = np.concatenate([
        part for values in (out.penultimate, out.midend, out.taggram)
        for part in (values.mean(axis=0), values.max(axis=0), values.std(axis=0))
    ])
    assert row.shape == expected.shape == (len(fs.columns),)
    np.testing.assert_allclose(row, expected, rtol=1e-5, atol=1e-6)
    assert row[fs.column_names.index(f"{model.lower()}_taggram_std_{'rock' if model.startswith('MSD') else 'guitar'}")] > 0


def test_named_configurations_are_registered_and_rebuild_from_their_config(musicnn_dir):
    from genrekit.features import available_feature_sets, feature_set_from_config

    names = {"musicnn_penultimate", "musicnn_tags", "musicnn_midend", "musicnn_taggram", "vgg", "vgg_midend",
             "vgg_taggram"}
    assert names <= set(available_feature_sets())
    taggram = get_feature_set("vgg_taggram", model="MTT_vgg")
    assert taggram.model == "MTT_vgg" and len(taggram.columns) == 100
    for name in names:
        fs = get_feature_set(name)
        rebuilt = feature_set_from_config(fs.config())
        assert rebuilt.column_names == fs.column_names and rebuilt.config_hash() == fs.config_hash()
    both = get_feature_set("musicnn_taggram+vgg_taggram", data_dir=musicnn_dir)
    assert len(set(both.column_names)) == 200
    assert both.extract_many(signals()[:1], 16000).shape == (1, 200)


def test_the_bundled_models_input_has_a_name_the_cli_takes():
    """``--set musicnn_tags`` makes the input the bundled models were trained on (their recipe in the README)."""
    from genrekit.models.bundle import read_card
    from genrekit.predict import BUNDLED_MODEL

    assert get_feature_set("musicnn_tags").config() == read_card(BUNDLED_MODEL).feature_set.to_json()


def test_registered_by_name(musicnn_dir):
    fs = get_feature_set("musicnn", tags=True, data_dir=musicnn_dir)
    assert isinstance(fs, MusicnnFeatureSet) and fs.tags


def test_a_folder_without_the_networks_says_what_is_wrong(tmp_path):
    fs = MusicnnFeatureSet(data_dir=tmp_path)  # building the set needs no network
    with pytest.raises(MusicnnNotInstalledError, match="genrekit models install musicnn"):
        fs.extract(np.zeros(16000 * 3, np.float32), 16000)
