"""Training and evaluation orchestration (genrekit.training)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from genrekit.errors import ConfigError, DatasetError
from genrekit.models.bundle import read_card
from genrekit.trainers import ClassicConfig
from genrekit.training import evaluate, train


def test_trained_card_describes_the_model_and_its_validation(tiny_model: Path):
    card = read_card(tiny_model)
    assert card.labels == ("noise", "tones")
    assert card.feature_set.name == "seed"
    assert card.windowing.as_dict() == {"window": 1.0, "hop": 0.5}
    assert card.training.split == "train"
    assert card.training.tracks_per_label == {"noise": 4, "tones": 4}
    assert card.training.n_windows == 8 * 3  # 2 s clips, 1 s windows every 0.5 s
    validation = card.validation
    assert validation.split == "valid" and validation.level == "track"
    assert validation.metrics["n_tracks"] == 4
    assert validation.metrics["balanced_accuracy"] == 1.0


def test_evaluate_scores_whole_tracks(tiny_model: Path, tiny_collection: Path):
    result = evaluate(tiny_model, tiny_collection, split="valid")
    assert result.metrics["n_samples"] == 4
    assert result.metrics["accuracy"] == 1.0
    assert result.window_metrics["n_samples"] == 12
    assert {row["label"] for row in result.tracks} == {"noise", "tones"}
    assert all(row["genre"] == row["label"] for row in result.tracks)


def test_evaluate_all_uses_every_track(tiny_model: Path, tiny_collection: Path):
    assert evaluate(tiny_model, tiny_collection, split="all").metrics["n_samples"] == 12


def test_evaluate_refuses_labels_the_model_never_learned(tiny_model: Path, tmp_path: Path, write_audio):
    from synth import sine

    write_audio("jazz/a.wav", sine(440.0))
    write_audio("noise/b.wav", sine(440.0))
    with pytest.raises(DatasetError, match="jazz"):
        evaluate(tiny_model, tmp_path, split="all")


def test_missing_split_is_a_clear_error(tiny_model: Path, tiny_collection: Path):
    with pytest.raises(DatasetError, match="no records in split 'test'"):
        evaluate(tiny_model, tiny_collection, split="test")


def test_training_refuses_a_group_on_both_sides_of_the_split(tiny_collection: Path, tmp_path: Path):
    rows = list(csv.DictReader(tiny_collection.open()))
    for row in rows:
        row["path"] = str(tiny_collection.parent / row["path"])
        row["group"] = "one-artist" if row["label"] == "tones" else row["path"]
    leaky = tmp_path / "leaky.csv"
    with leaky.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "label", "split", "group"])
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(DatasetError, match="share groups"):
        train(leaky, tmp_path / "m.genre", "logreg", ClassicConfig(feature_set="seed", window=1.0))


def test_train_with_all_has_no_validation(tiny_collection: Path, tmp_path: Path):
    result = train(tiny_collection, tmp_path / "all.genre", "knn", ClassicConfig(feature_set="seed", window=1.0, use_all=True))
    assert result.validation is None
    assert result.card.training.split == "all"
    assert result.card.training.n_tracks == 12
    assert not result.card.validation.measured


def test_no_calibrate_keeps_the_estimators_own_probabilities_searched_or_not(tiny_collection: Path, tmp_path: Path):
    plain = train(tiny_collection, tmp_path / "p.genre", "logreg", ClassicConfig(feature_set="seed", window=1.0))
    assert plain.card.model.details["calibration"]["method"] == "sigmoid"  # the measured default for logreg
    for search in (False, True):
        result = train(tiny_collection, tmp_path / f"u{search}.genre", "logreg",
                       ClassicConfig(feature_set="seed", window=1.0, calibrate=False, search=search))
        details = result.card.model.details
        assert details["calibration"] is None and details["estimator"] == "LogisticRegression"
        assert (details["search"] is not None) == search
    with pytest.raises(ConfigError, match="svm needs calibrate=True"):
        train(tiny_collection, tmp_path / "svm.genre", "svm", ClassicConfig(feature_set="seed", window=1.0, calibrate=False))


def test_search_tunes_with_grouped_folds(tiny_collection: Path, tmp_path: Path):
    from genrekit.models.classic import param_grid, search
    from genrekit.store import compute_features
    from genrekit.trainers.base import split_for_training

    result = train(tiny_collection, tmp_path / "s.genre", "logreg", ClassicConfig(feature_set="seed", window=1.0, search=True))
    grid = param_grid("logreg")
    chosen = result.card.model.details["search"]["best_params"]
    assert chosen and all(value in grid[key.split("__")[-1]] or value in grid.get(key, [])
                          for key, value in chosen.items())
    assert 0.0 <= result.search["cv_balanced_accuracy"] <= 1.0 and result.search["folds"] >= 2
    # the folds the search scored on never split a track's windows
    from genrekit.features import get_feature_set
    from genrekit.audio import Windowing

    records, _ = split_for_training(tiny_collection)
    data = compute_features(records, get_feature_set("seed"), Windowing(1.0)).matrix()
    found = search("logreg", data.X, data.labels.astype(str), data.groups, seed=0, grid=None)
    for fit_idx, test_idx in found.splits:
        assert not set(data.groups[fit_idx]) & set(data.groups[test_idx])


def test_one_signature_trains_every_kind_with_its_own_typed_config(tiny_collection: Path, tmp_path: Path):
    from genrekit.errors import ConfigError
    from genrekit.trainers import EnsembleConfig, available_trainers

    assert {"svm", "rf", "logreg", "knn", "gbm", "cnn", "ensemble"} <= set(available_trainers())
    with pytest.raises(ConfigError, match="unknown model kind 'tree'"):
        train(tiny_collection, tmp_path / "m.genre", "tree")
    with pytest.raises(ConfigError, match="ClassicConfig"):
        train(tiny_collection, tmp_path / "m.genre", "svm", EnsembleConfig())
    with pytest.raises(ConfigError, match="unknown setting.*epochs"):
        train(tiny_collection, tmp_path / "m.genre", "svm", {"epochs": 3})
    as_dict = train(tiny_collection, tmp_path / "a.genre", "logreg", {"feature_set": "seed", "window": 1.0}).card
    typed = train(tiny_collection, tmp_path / "b.genre", "logreg", ClassicConfig(feature_set="seed", window=1.0)).card
    assert as_dict.validation.metrics == typed.validation.metrics and as_dict.model == typed.model


def test_unlabelled_source_cannot_train(tmp_path: Path, write_audio):
    from synth import sine

    write_audio("a.wav", sine(440.0))
    with pytest.raises(DatasetError, match="no labelled"):
        train(tmp_path / "a.wav", tmp_path / "m.genre")
