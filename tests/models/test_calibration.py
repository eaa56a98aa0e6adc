"""Calibration written into a model file: the graph applies the temperature, the card records it, old files are untouched."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genrekit.errors import ConfigError, ModelFileError
from genrekit.evaluation import apply_temperature
from genrekit.models import bundle
from genrekit.models.calibration import calibrate_file
from genrekit.models.card import ModelCard

V1 = Path(__file__).parent / "data" / "v1"


def _features(model: bundle.GenreModel, n: int = 40) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, model.n_features)).astype(np.float32) * 3


def test_calibrated_file_applies_the_temperature_and_round_trips(tiny_model: Path, tmp_path: Path):
    out = calibrate_file(tiny_model, tmp_path / "calibrated.genre", 2.5, fit_on="held-out test predictions",
                         figures={"ece_held_out_before": 0.2}, card_extra={"selection": {"role": "test"}})
    before, after = bundle.load_model(tiny_model), bundle.load_model(out)
    X = _features(before)
    raw = before.predict_proba(X)
    np.testing.assert_allclose(after.predict_proba(X), apply_temperature(raw, 2.5), atol=1e-5)
    assert (after.predict_proba(X).argmax(axis=1) == raw.argmax(axis=1)).all()
    card = after.card
    assert card.calibration is not None and card.calibration.temperature == 2.5
    assert card.calibration.extra == {"ece_held_out_before": 0.2}
    assert card.extra["selection"] == {"role": "test"}
    assert card.calibration.to_json() == json.loads(json.dumps(card.to_json()))["calibration"]
    assert ModelCard.from_json(card.to_json()).to_json() == card.to_json()  # the card reads back exactly
    with pytest.raises(ConfigError, match="already calibrated"):
        calibrate_file(out, tmp_path / "twice.genre", 2.0, fit_on="x")


def test_prediction_of_a_calibrated_file_goes_through_the_one_inference_path(tiny_model: Path, tmp_path: Path,
                                                                          write_audio):
    from genrekit.predict import load_model
    from synth import sine

    out = calibrate_file(tiny_model, tmp_path / "soft.genre", 8.0, fit_on="test")
    clip = write_audio("tone.wav", sine(440.0, seconds=2.0))
    sharp, soft = load_model(tiny_model).predict(clip), load_model(out).predict(clip)
    assert sharp.genre == soft.genre
    assert soft.confidence < sharp.confidence  # a high temperature softens the verdict


def test_a_card_with_a_bad_calibration_is_refused(tiny_model: Path):
    card = bundle.read_card(tiny_model).to_json()
    for bad in ({"method": "isotonic", "temperature": 1.0, "fit_on": "x"},
                {"method": "temperature", "temperature": 0.0, "fit_on": "x"},
                {"method": "temperature", "temperature": float("inf"), "fit_on": "x"},
                {"method": "temperature", "temperature": 2.0}):
        with pytest.raises(ModelFileError, match="calibration"):
            ModelCard.from_json(card | {"calibration": bad})


def test_old_model_files_load_without_calibration_and_keep_their_card():
    """Their recorded outputs are checked by tests/models/test_card.py; here: nothing about them changed."""
    files = sorted(V1.glob("*.genre"))
    assert files
    for path in files:
        model = bundle.load_model(path)
        assert model.card.calibration is None
        raw = json.loads(model.files()["card.json"])
        assert model.card.to_json() == raw  # read back exactly, so the sealed hash still holds
