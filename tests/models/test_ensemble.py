"""Ensemble model files: weighted averages of member models (no torch needed)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest


def train_ensemble(source, out, members, **config):
    from genrekit.trainers import EnsembleConfig
    from genrekit.training import train

    return train(source, out, "ensemble", EnsembleConfig(members=tuple(map(str, members)), **config))


@pytest.fixture(scope="module")
def members(tiny_collection: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from genrekit.training import train

    root = tmp_path_factory.mktemp("members")
    a, b = root / "lr.genre", root / "rf.genre"
    train(tiny_collection, a, "logreg", {"feature_set": "seed", "window": 1.0, "hop": 0.5})
    train(tiny_collection, b, "rf", {"feature_set": "seed", "window": 2.0})
    return [a, b]


@pytest.fixture(scope="module")
def ensemble(members: list[Path], tiny_collection: Path, tmp_path_factory: pytest.TempPathFactory):
    return train_ensemble(tiny_collection, tmp_path_factory.mktemp("ens") / "ens.genre", members)


def test_ensemble_predicts_the_weighted_average_of_its_members(ensemble, members, tiny_collection: Path):
    from genrekit.predict import load_model

    info = ensemble.card.to_json()["model"]
    weights = [m["weight"] for m in info["members"]]
    assert info["kind"] == "ensemble" and len(weights) == 2
    assert abs(sum(weights) - 1) < 1e-9 and min(weights) >= 0
    assert info["weights_fit_on"].startswith("valid split")
    assert ensemble.validation["metrics"]["n_tracks"] == 4 and set(ensemble.validation["members"]) == {"0_lr", "1_rf"}
    ens = load_model(ensemble.path)
    singles = [load_model(m) for m in members]
    for f in [tiny_collection.parent / "tones" / "tone5.wav", tiny_collection.parent / "noise" / "noise4.wav"]:
        got = ens.predict(f).probabilities
        for label in got:
            want = sum(w * s.predict(f).probabilities[label] for w, s in zip(weights, singles))
            assert got[label] == pytest.approx(want, abs=2e-4)


def test_ensemble_evaluates_and_equal_weighting_is_equal(ensemble, members, tiny_collection: Path, tmp_path: Path):
    from genrekit.training import evaluate

    result = evaluate(ensemble.path, tiny_collection, split="valid")
    assert result.metrics["n_samples"] == 4 and result.metrics["accuracy"] == 1.0
    equal = train_ensemble(tiny_collection, tmp_path / "eq.genre", members, weighting="equal", window=None)
    assert [m["weight"] for m in equal.card.to_json()["model"]["members"]] == [0.5, 0.5]
    assert "out_of_fold" not in equal.card.to_json()["validation"]  # nothing was fit, nothing to hold out


def test_fit_weights_prefers_the_member_that_is_right():
    from genrekit.models.ensemble import fit_weights

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=60)
    good = np.full((60, 3), 0.1)
    good[np.arange(60), y] = 0.8
    bad = rng.dirichlet(np.ones(3), size=60)
    w = fit_weights(np.stack([bad, good], axis=1), y)
    assert w[1] > 0.9 and abs(w.sum() - 1) < 1e-9


def test_combiner_graph_is_a_weighted_sum():
    import onnxruntime as ort

    from genrekit.models.ensemble import combiner_onnx

    proto = combiner_onnx([0.25, 0.75], 3, ["a", "b", "c"])
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.array([[0.2, 0.3, 0.5, 0.6, 0.2, 0.2]], dtype=np.float32)
    got = session.run(["probabilities"], {"features": x})[0]
    np.testing.assert_allclose(got, [[0.5, 0.225, 0.275]], atol=1e-6)


def _reseal_with(path: Path, out: Path, edit) -> Path:
    """Copy an ensemble file, changing one member's files with ``edit(files)``, and reseal the outer card."""
    from genrekit.models import bundle

    outer = bundle.load_model(path)
    files = {n: outer.member_bytes(n) for n in outer.member_names}
    edit(files)
    card = {k: v for k, v in outer.card.to_json().items() if k not in ("onnx", "members", "card_sha256")}
    extra = {n: d for n, d in files.items() if n != "model.onnx"}
    return bundle.save_model(out, files["model.onnx"], card, extra_members=extra)


def test_a_tampered_member_is_refused(ensemble, tmp_path: Path):
    from genrekit.errors import ModelFileError
    from genrekit.predict import load_model

    def edit(files):
        card = json.loads(files["ensemble/0/card.json"])
        card["labels"] = list(reversed(card["labels"]))  # not resealed
        files["ensemble/0/card.json"] = json.dumps(card).encode()

    bad = _reseal_with(ensemble.path, tmp_path / "bad.genre", edit)
    with pytest.raises(ModelFileError, match="member 0"):
        load_model(bad)
    assert zipfile.is_zipfile(bad)


def test_bad_ensembles_are_refused_with_a_reason(ensemble, members, tiny_collection: Path, tmp_path: Path):

    with pytest.raises(ValueError, match="at least two"):
        train_ensemble(tiny_collection, tmp_path / "x.genre", members[:1])
    with pytest.raises(ValueError, match="itself an ensemble"):
        train_ensemble(tiny_collection, tmp_path / "x.genre", [ensemble.path, members[0]])
    with pytest.raises(ValueError, match="shorter than a member"):
        train_ensemble(tiny_collection, tmp_path / "x.genre", members, window=1.0)


def test_members_must_share_labels(members):
    from genrekit.models.ensemble import EnsembleFeatureSet
    from genrekit.predict import load_model

    with pytest.raises(ValueError, match="share their labels"):
        EnsembleFeatureSet([load_model(m) for m in members], ["jazz", "rock"], ["a", "b"])


# ----------------------------------------------------------------------------- out-of-fold weights


def _informative_and_noise(n_groups: int = 30, per_group: int = 2, n_labels: int = 3, seed: int = 0):
    """Track blocks ``(n, 2, L)``: member 0 is noise, member 1 is usually right; groups of ``per_group`` tracks."""
    rng = np.random.default_rng(seed)
    group_label = rng.permutation(np.arange(n_groups) % n_labels)  # every label gets n_groups / n_labels groups
    groups = np.repeat([f"artist{g}" for g in range(n_groups)], per_group)
    y = np.repeat(group_label, per_group)
    n = len(y)
    good = np.full((n, n_labels), 0.1 / (n_labels - 1))
    good[np.arange(n), y] = 0.9
    noise = rng.dirichlet(np.ones(n_labels), size=n)
    return np.stack([noise, good], axis=1), y, groups


def test_out_of_fold_weights_favour_the_informative_member_and_hold_each_track_out_once():
    from genrekit.models.ensemble import fit_weights, out_of_fold_scores

    blocks, y, groups = _informative_and_noise()
    oof = out_of_fold_scores(blocks, y, groups, n_folds=5, seed=0)
    assert oof.weights.shape == (5, 2) and oof.probs.shape == (len(y), 3)
    assert np.all(oof.weights[:, 1] > 0.9)
    np.testing.assert_allclose(oof.weights.sum(axis=1), 1.0)
    np.testing.assert_allclose(oof.probs.sum(axis=1), 1.0)
    # every track held out by exactly one fold, every fold holding something out
    assert set(oof.fold.tolist()) == set(range(5))
    for g in np.unique(groups):  # a group never sits on both the fitting and the held-out side
        assert len(set(oof.fold[groups == g].tolist())) == 1
    for f in range(5):  # fold f's weights come from the other folds only, and are what scored fold f
        held = oof.fold == f
        np.testing.assert_allclose(oof.weights[f], fit_weights(blocks[~held], y[~held]))
        np.testing.assert_allclose(oof.probs[held], np.einsum("nml,m->nl", blocks[held], oof.weights[f]))
    assert np.mean(oof.probs.argmax(axis=1) == y) == 1.0
    again = out_of_fold_scores(blocks, y, groups, n_folds=5, seed=0)
    np.testing.assert_array_equal(again.fold, oof.fold)
    assert not np.array_equal(out_of_fold_scores(blocks, y, groups, n_folds=5, seed=1).fold, oof.fold)


def test_out_of_fold_folds_shrink_to_the_groups_there_are():
    from genrekit.models.ensemble import n_out_of_fold, out_of_fold_scores

    blocks, y, groups = _informative_and_noise(n_groups=9, per_group=3)  # 3 groups per label
    assert n_out_of_fold(y, groups, 5) == (3, "label '0' has 3 group(s) in the valid split: 3 folds instead of 5")
    assert n_out_of_fold(y, groups, 3) == (3, "")
    oof = out_of_fold_scores(blocks, y, groups, n_folds=5)
    assert oof.weights.shape == (3, 2) and set(oof.fold.tolist()) == {0, 1, 2}

    one_group = np.where(y == 2, "the_one", groups)  # label 2: all its tracks in one group
    k, why = n_out_of_fold(y, one_group, 5)
    assert k == 1 and "label '2' has 1 group" in why
    with pytest.raises(ValueError, match="out of fold.*label '2' has 1 group"):
        out_of_fold_scores(blocks, y, one_group)
    with pytest.raises(ValueError, match="n_folds"):
        n_out_of_fold(y, groups, 1)


def test_fitted_ensemble_card_carries_out_of_fold_figures(ensemble):
    oof = ensemble.card.to_json()["validation"]["out_of_fold"]
    assert ensemble.validation["out_of_fold"] == oof
    # 4 valid tracks, one group each, 2 per label: 2 folds, every track scored once
    assert oof["folds"] == 2 and oof["grouped_by"] == "group" and "2 folds instead of 5" in oof["folds_reduced"]
    assert oof["metrics"]["n_tracks"] == 4
    assert {"accuracy", "balanced_accuracy", "log_loss", "ece"} <= set(oof["metrics"])
    assert 0.0 <= oof["metrics"]["accuracy"] <= 1.0 and oof["metrics"]["log_loss"] > 0
    assert len(oof["weights_per_fold"]) == 2
    for w in oof["weights_per_fold"]:
        assert len(w) == 2 and abs(sum(w) - 1) < 1e-9 and min(w) >= 0
    assert "optimistic" in ensemble.card.to_json()["validation"]["note"]


def test_out_of_fold_is_skipped_with_a_reason_when_groups_are_too_few(members, tiny_collection: Path, tmp_path: Path):
    import dataclasses

    from genrekit.datasets import load_dataset

    records = [dataclasses.replace(r, group="one_artist") if r.split == "valid" and r.label == "tones" else r
               for r in load_dataset(tiny_collection)]
    result = train_ensemble(records, tmp_path / "one_artist.genre", members, window=None)
    skipped = result.card.to_json()["validation"]["out_of_fold"]
    assert set(skipped) == {"skipped"} and "label 'tones' has 1 group" in skipped["skipped"]
    assert result.card.to_json()["validation"]["metrics"]["n_tracks"] == 4  # the optimistic figures are still there


def test_out_of_fold_summary_gives_each_window_its_tracks_fold_weights():
    from types import SimpleNamespace

    from genrekit.evaluation import classification_metrics
    from genrekit.models.ensemble import out_of_fold_scores
    from genrekit.trainers.ensemble import _out_of_fold_summary, _track_blocks

    track_blocks, y, groups = _informative_and_noise(n_groups=12, per_group=2)
    labels = ["a", "b", "c"]
    n = len(y)
    rng = np.random.default_rng(1)
    # 3 windows per track, jittered around the track's blocks, windows of different tracks interleaved
    order = rng.permutation(np.repeat(np.arange(n), 3))
    jitter = rng.dirichlet(np.ones(3), size=(len(order), 2))
    blocks = 0.8 * track_blocks[order] + 0.2 * jitter
    paths = np.array([f"t{i}.wav" for i in order], dtype=object)
    data = SimpleNamespace(paths=paths, labels=np.array([labels[y[i]] for i in order], dtype=object),
                           groups=groups[order].astype(object))
    track_ids, per_track = _track_blocks(blocks, paths, "mean")
    y_t = np.array([y[int(t[1:-4])] for t in track_ids])
    summary = _out_of_fold_summary(data, blocks, track_ids, per_track, y_t, labels, "mean", n_folds=4, seed=0)
    assert summary["folds"] == 4 and "folds_reduced" not in summary
    oof = out_of_fold_scores(per_track, y_t, groups[[int(t[1:-4]) for t in track_ids]], n_folds=4, seed=0)
    want = classification_metrics([labels[i] for i in y_t], oof.probs, labels)  # mean of windows = track blocks
    assert summary["metrics"]["n_tracks"] == n
    assert summary["metrics"]["log_loss"] == pytest.approx(want["log_loss"], rel=1e-9)
    assert summary["metrics"]["accuracy"] == want["accuracy"]
    np.testing.assert_allclose(summary["weights_per_fold"], oof.weights)
