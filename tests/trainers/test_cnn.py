"""Training spectrogram CNNs (genrekit.trainers.cnn): determinism, resuming, early stopping, the front-end cache.

Tests that need torch skip (with the reason) when it is not installed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


TINY = {"batch_size": 4, "max_steps": 2, "crops_per_track": 2, "arch": {"channels": [4, 8]}}


@pytest.fixture(scope="module")
def cnn_model(torch, tiny_collection: Path, tmp_path_factory: pytest.TempPathFactory):
    from genrekit.trainers import CNNConfig
    from genrekit.training import train

    out = tmp_path_factory.mktemp("cnn") / "cnn.genre"
    result = train(tiny_collection, out, "cnn", CNNConfig(init="scratch", epochs=2, seed=3, **TINY))
    return result


# ----------------------------------------------------------------------------- without torch


def test_training_a_cnn_without_torch_names_the_extra(monkeypatch):
    from genrekit.errors import ConfigError
    from genrekit.trainers.cnn import train_cnn

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ConfigError, match=r"genrekit\[train\]"):
        train_cnn("unused", "unused.genre")


# ----------------------------------------------------------------------------- training


def test_cnn_model_file_predicts_and_evaluates_through_the_usual_pipeline(cnn_model, tiny_collection: Path):
    from genrekit.predict import load_model
    from genrekit.training import evaluate

    card = cnn_model.card.to_json()
    assert card["model"]["kind"] == "cnn" and card["model"]["init"] == "scratch"
    assert card["feature_set"]["name"] == "logmel" and len(card["columns"]) == 130 * 96
    assert card["model"]["epochs_run"] == 2 and len(card["model"]["history"]) == 2
    assert card["validation"]["split"] == "valid" and card["validation"]["metrics"]["n_tracks"] == 4
    assert card["model"]["export_max_abs_diff"] < 1e-4
    classifier = load_model(cnn_model.path)
    prediction = classifier.predict(tiny_collection.parent / "tones" / "tone5.wav")
    assert set(prediction.probabilities) == {"noise", "tones"}
    assert abs(sum(prediction.probabilities.values()) - 1) < 1e-3
    result = evaluate(cnn_model.path, tiny_collection, split="valid")
    assert result.metrics["n_samples"] == 4
    # evaluate scores the same windows the same way as validation during training
    assert abs(result.metrics["accuracy"] - card["validation"]["metrics"]["accuracy"]) < 1e-9


def test_cnn_inference_does_not_import_torch(cnn_model, tiny_collection: Path):
    code = (
        "import sys\n"
        "from genrekit.predict import load_model\n"
        f"p = load_model({str(cnn_model.path)!r}).predict({str(tiny_collection.parent / 'noise' / 'noise4.wav')!r})\n"
        "assert 'torch' not in sys.modules, 'prediction imported torch'\n"
        "print(p.genre, sum(p.probabilities.values()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    genre, total = out.stdout.split()
    assert genre in {"noise", "tones"} and abs(float(total) - 1) < 1e-3


def _valid_probabilities(path: Path, tiny_collection: Path) -> np.ndarray:
    from genrekit.predict import load_model

    classifier = load_model(path)
    files = sorted((tiny_collection.parent).glob("*/*[45].wav"))
    return np.array([[p for _, p in sorted(classifier.predict(f).probabilities.items())] for f in files])


def test_training_is_deterministic_and_a_killed_run_resumes_to_the_same_model(
        torch, cnn_model, tiny_collection: Path, tmp_path: Path):
    from genrekit.trainers.cnn import CNNConfig
    from genrekit.trainers.cnn import train_cnn

    again = train_cnn(tiny_collection, tmp_path / "again.genre", CNNConfig(epochs=2, seed=3, **TINY))
    np.testing.assert_array_equal(_valid_probabilities(again.path, tiny_collection),
                                  _valid_probabilities(cnn_model.path, tiny_collection))

    # "killed" after epoch 1: its checkpoint stays; the rerun picks up at epoch 2.
    out = tmp_path / "resumed.genre"
    first = train_cnn(tiny_collection, out, CNNConfig(epochs=1, seed=3, **TINY), keep_checkpoint=True)
    assert first.card.to_json()["model"]["epochs_run"] == 1 and (tmp_path / "resumed.genre.ckpt").exists()
    resumed = train_cnn(tiny_collection, out, CNNConfig(epochs=2, seed=3, **TINY))
    assert resumed.card.to_json()["model"]["resumed_from_epoch"] == 1
    assert not (tmp_path / "resumed.genre.ckpt").exists()
    np.testing.assert_array_equal(_valid_probabilities(out, tiny_collection),
                                  _valid_probabilities(cnn_model.path, tiny_collection))

    other_seed = train_cnn(tiny_collection, tmp_path / "other.genre", CNNConfig(epochs=2, seed=4, **TINY))
    assert not np.array_equal(_valid_probabilities(other_seed.path, tiny_collection),
                              _valid_probabilities(cnn_model.path, tiny_collection))


def test_a_checkpoint_of_another_run_is_refused(torch, tiny_collection: Path, tmp_path: Path):
    from genrekit.trainers.cnn import CNNConfig
    from genrekit.trainers.cnn import train_cnn

    out = tmp_path / "m.genre"
    train_cnn(tiny_collection, out, CNNConfig(epochs=1, seed=0, **TINY), keep_checkpoint=True)
    with pytest.raises(ValueError, match="different training run"):
        train_cnn(tiny_collection, out, CNNConfig(epochs=2, seed=1, **TINY))


def test_musicnn_fine_tuning_runs_and_keeps_the_pretrained_front_end_frozen_first(
        torch, musicnn_weights, tiny_collection: Path, tmp_path: Path):
    from genrekit.trainers.cnn import CNNConfig
    from genrekit.trainers.cnn import train_cnn
    from genrekit.predict import load_model

    config = {"batch_size": 2, "max_steps": 1, "crops_per_track": 1, "freeze_epochs": 1}
    result = train_cnn(tiny_collection, tmp_path / "mn.genre", CNNConfig(init="musicnn", epochs=2, seed=0, **config))
    card = result.card.to_json()
    assert card["feature_set"]["name"] == "musicnn_mel" and card["model"]["architecture"] == "MusicnnNet"
    assert card["model"]["fine_tune"] == "head" and card["model"]["export_max_abs_diff"] < 1e-4
    assert card["model"]["pretrained"]["model"] == "MSD_musicnn"
    assert card["windowing"]["window"] == pytest.approx(2.976)
    assert load_model(result.path).predict(tiny_collection.parent / "tones" / "tone4.wav").genre in {"noise", "tones"}


def test_cached_front_end_holds_what_the_network_computes(torch, musicnn_weights, tiny_collection: Path):
    from genrekit.audio import Windowing
    from genrekit.datasets import load_dataset
    from genrekit.models.cnn.arch import MusicnnNet, load_musicnn
    from genrekit.trainers.cnn import CNNConfig, _CachedFrontEnd, _decode, _train_tracks, _valid_windows
    from genrekit.trainers.cnn import feature_set_for

    fs = feature_set_for("musicnn")
    records = [r for r in load_dataset(tiny_collection) if r.split == "train"][:2]
    label_index = {"noise": 0, "tones": 1}
    decoded = _decode(records, fs, label_index, [], lambda *_: None)
    tracks = _train_tracks(decoded, fs, label_index)
    valid = _valid_windows(decoded, fs, Windowing(window=fs.patch_seconds))
    net = load_musicnn(MusicnnNet(2), musicnn_weights)
    cfg = CNNConfig(init="musicnn", cache_stride=0.5, gain_db=0.0)
    seen = []
    cache = _CachedFrontEnd(net, tracks, valid, fs, cfg, seed=0, report=seen.append)

    # patches start every 0.5 s, and the last one ends at the track's end
    for mel, front in zip(tracks.mels, cache.front):
        last = len(mel) - fs.n_frames
        starts = sorted({*range(0, last + 1, round(0.5 * fs.sample_rate / fs.hop_length)), last})
        assert len(front) == len(starts) and front.dtype == torch.float16
        with torch.inference_mode():
            want = net.eval().front_end(torch.from_numpy(fs.compress(mel[last:last + fs.n_frames]))[None])[0]
        torch.testing.assert_close(front[-1].float(), want, rtol=1e-2, atol=1e-2)
    assert cache.held_out_front.shape == (len(valid.X), 561, fs.n_frames)
    assert seen[-1].phase == "cache" and seen[-1].step == seen[-1].steps == sum(map(len, cache.front)) + len(valid.X)
    # validation from the cache agrees with the full network on the prediction patches
    from genrekit.models.cnn.export import torch_probabilities

    np.testing.assert_allclose(cache.held_out_probabilities(), torch_probabilities(net, valid.X, fs.n_frames, fs.n_mels),
                               atol=1e-2)


def test_early_stopping_holds_out_train_tracks_and_leaves_valid_unseen(torch, tiny_collection: Path, tmp_path: Path):
    from genrekit.datasets import load_dataset
    from genrekit.trainers.cnn import CNNConfig, _stopping_split, train_cnn

    train_records = [r for r in load_dataset(tiny_collection) if r.split == "train"]
    decoded = [(r, None) for r in train_records]
    fit, stop = _stopping_split(decoded, CNNConfig(stop_fraction=0.25), seed=0)
    assert stop and fit and len(fit) + len(stop) == len(train_records)
    assert not {r.group for r, _ in fit} & {r.group for r, _ in stop}
    assert {r.label for r, _ in stop} == {r.label for r in train_records}  # stratified
    assert _stopping_split(decoded, CNNConfig(stop_on="valid"), seed=0) == (decoded, [])

    honest = train_cnn(tiny_collection, tmp_path / "a.genre", CNNConfig(epochs=1, seed=0, **TINY)).card.to_json()
    assert honest["training"]["early_stopping"]["on"] == "train"
    assert honest["training"]["n_tracks"] + honest["training"]["early_stopping"]["n_tracks"] == len(train_records)
    assert "unseen" in honest["validation"]["note"]
    on_valid = train_cnn(tiny_collection, tmp_path / "b.genre", CNNConfig(epochs=1, seed=0, **(TINY | {"stop_on": "valid"}))).card.to_json()
    assert on_valid["training"]["n_tracks"] == len(train_records)
    assert "optimistic" in on_valid["validation"]["note"]
    with pytest.raises(ValueError, match="stop_on"):
        train_cnn(tiny_collection, tmp_path / "c.genre", CNNConfig(epochs=1, **(TINY | {"stop_on": "test"})))
