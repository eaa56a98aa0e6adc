"""scripts/train_bundled_model.py's refit: a chosen recipe fit on every clip (nothing held out), ensembles included."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from genrekit.models import bundle

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.fixture(scope="module")
def script():
    sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location("train_bundled_model_script", SCRIPTS / "train_bundled_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_recipe_is_refit_on_every_clip_and_an_ensemble_on_its_refit_members(script, tiny_collection: Path,
                                                                           tmp_path: Path):
    from genrekit.datasets import load_dataset
    from genrekit.models.calibration import calibrate_file

    records = load_dataset(tiny_collection)
    probe = {"kind": "logreg", "feature_set": "seed", "feature_options": {}, "window": 1.0, "seed": 0}
    single = script.train_recipe(probe, records, tmp_path / "single.genre", tmp_path, lambda _line: None)
    card = bundle.read_card(single)
    assert card.training.split == "all" and card.training.n_tracks == len(records)
    assert card.validation.split == "none"  # nothing held out

    recipe = {"kind": "ensemble", "weighting": "equal", "window": 1.0, "members": [probe, {**probe, "kind": "svm"}]}
    ensemble = script.train_recipe(recipe, records, tmp_path / "ensemble.genre", tmp_path, lambda _line: None)
    model = bundle.load_model(ensemble)
    assert [m["weight"] for m in model.card.model.members] == [0.5, 0.5]
    assert model.card.windowing.window == 1.0  # bounded windows, not whole files
    members = model.embedded_models()
    assert [m.card.kind for m in members] == ["logreg", "svm"]
    assert all(m.card.training.split == "all" and m.card.training.n_tracks == len(records) for m in members)

    calibrated = bundle.load_model(calibrate_file(ensemble, tmp_path / "calibrated.genre", 2.0, fit_on="test"))
    X = np.random.default_rng(0).uniform(0, 1, size=(5, model.n_features)).astype(np.float32)
    from genrekit.evaluation import apply_temperature

    np.testing.assert_allclose(calibrated.predict_proba(X), apply_temperature(model.predict_proba(X), 2.0), atol=1e-5)
    assert len(calibrated.embedded_models()) == 2


def test_a_tag_prior_ships_with_the_weight_and_temperature_fit_on_both_directions_held_out_predictions(script):
    shipped = {"prior_weight": 0.75, "temperature": 0.59, "mean_balanced_accuracy_by_weight": {"0": 0.6, "0.75": 0.7}}
    entry = {"recipe": {"kind": "logreg", "tag_prior": True}, "searched_params": {"all_held_out": shipped}}
    got = script.shipped_prior(entry)
    assert {k: got[k] for k in shipped} == shipped and "in-sample" in got["fit_on"]
    assert script.shipped_prior({"recipe": {"kind": "logreg", "search": True}}) is None
