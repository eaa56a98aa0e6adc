"""Ensemble model files: weighted averages of member models (no torch needed)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def members(tiny_collection: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from genrekit.training import train

    root = tmp_path_factory.mktemp("members")
    a, b = root / "lr.genre", root / "rf.genre"
    train(tiny_collection, a, feature_set="seed", model="logreg", window=1.0, hop=0.5)
    train(tiny_collection, b, feature_set="seed", model="rf", window=2.0)
    return [a, b]


@pytest.fixture(scope="module")
def ensemble(members: list[Path], tiny_collection: Path, tmp_path_factory: pytest.TempPathFactory):
    from genrekit.training import train

    return train(tiny_collection, tmp_path_factory.mktemp("ens") / "ens.genre", model="ensemble",
                 members=members, window=None)


def test_ensemble_predicts_the_weighted_average_of_its_members(ensemble, members, tiny_collection: Path):
    from genrekit.predict import load_model

    info = ensemble.card["model"]
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
    from genrekit.models.ensemble import train_ensemble
    from genrekit.training import evaluate

    result = evaluate(ensemble.path, tiny_collection, split="valid")
    assert result.metrics["n_samples"] == 4 and result.metrics["accuracy"] == 1.0
    equal = train_ensemble(tiny_collection, tmp_path / "eq.genre", members, weighting="equal", window=None)
    assert [m["weight"] for m in equal.card["model"]["members"]] == [0.5, 0.5]


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
    card = {k: v for k, v in outer.card.items() if k not in ("onnx", "members", "card_sha256")}
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
    from genrekit.models.ensemble import train_ensemble

    with pytest.raises(ValueError, match="at least two"):
        train_ensemble(tiny_collection, tmp_path / "x.genre", members[:1])
    with pytest.raises(ValueError, match="itself an ensemble"):
        train_ensemble(tiny_collection, tmp_path / "x.genre", [ensemble.path, members[0]])
    with pytest.raises(ValueError, match="shorter than a member"):
        train_ensemble(tiny_collection, tmp_path / "x.genre", members, window=1.0)


def test_members_must_share_labels(members):
    from genrekit.models.bundle import load_model
    from genrekit.models.ensemble import EnsembleFeatureSet

    with pytest.raises(ValueError, match="share their labels"):
        EnsembleFeatureSet([load_model(m) for m in members], ["jazz", "rock"], ["a", "b"])


def test_cli_takes_members_after_one_flag(members, tiny_collection: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from genrekit.cli import app

    out = tmp_path / "cli.genre"
    result = CliRunner().invoke(app, ["train", str(tiny_collection), "--model", "ensemble", "--members",
                                      str(members[0]), str(members[1]), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "ensemble of 2 models" in result.stdout and out.is_file()
