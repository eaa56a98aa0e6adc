"""Training and evaluation orchestration (genrekit.training)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from genrekit.errors import DatasetError
from genrekit.models.bundle import read_card
from genrekit.training import evaluate, train


def test_trained_card_describes_the_model_and_its_validation(tiny_model: Path):
    card = read_card(tiny_model)
    assert card["labels"] == ["noise", "tones"]
    assert card["feature_set"]["name"] == "seed"
    assert card["windowing"] == {"window": 1.0, "hop": 0.5}
    assert card["training"]["split"] == "train"
    assert card["training"]["tracks_per_label"] == {"noise": 4, "tones": 4}
    assert card["training"]["n_windows"] == 8 * 3  # 2 s clips, 1 s windows every 0.5 s
    validation = card["validation"]
    assert validation["split"] == "valid" and validation["level"] == "track"
    assert validation["metrics"]["n_tracks"] == 4
    assert validation["metrics"]["balanced_accuracy"] == 1.0


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
        train(leaky, tmp_path / "m.genre", feature_set="seed", model="logreg", window=1.0)


def test_train_with_all_has_no_validation(tiny_collection: Path, tmp_path: Path):
    result = train(tiny_collection, tmp_path / "all.genre", feature_set="seed", model="knn", window=1.0, use_all=True)
    assert result.validation is None
    assert result.card["training"]["split"] == "all"
    assert result.card["training"]["n_tracks"] == 12


def test_search_tunes_with_grouped_folds(tiny_collection: Path, tmp_path: Path):
    result = train(tiny_collection, tmp_path / "s.genre", feature_set="seed", model="logreg", window=1.0, search=True)
    assert result.search is not None
    assert result.search["grouped_by"] == "track"
    assert result.card["model"]["search"]["best_params"]


def test_unlabelled_source_cannot_train(tmp_path: Path, write_audio):
    from synth import sine

    write_audio("a.wav", sine(440.0))
    with pytest.raises(DatasetError, match="no labelled"):
        train(tmp_path / "a.wav", tmp_path / "m.genre")
