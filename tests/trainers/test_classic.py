"""The classic trainer with a tag prior: one file whose graph reads every column and whose card says what it did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genrekit.errors import ConfigError
from genrekit.models import bundle
from genrekit.models.tag_prior import WEIGHTS
from genrekit.trainers import ClassicConfig
from genrekit.training import train
from trained import make_collection


def _genre_collection(root: Path, per_label: int = 7) -> Path:
    """Tones labelled "jazz", noise labelled "metal": names musicnn's MSD tags know."""
    return make_collection(root, per_label, seconds=3.2, sr=16000, labels=("jazz", "metal"))


def test_a_probe_with_a_tag_prior_trains_into_one_self_describing_file(tmp_path: Path):
    manifest = _genre_collection(tmp_path / "data")
    out = train(manifest, tmp_path / "prior.genre", "logreg",
                ClassicConfig(feature_set="musicnn_tags", window=3.0, calibrate=False, tag_prior=True)).path
    model = bundle.load_model(out)
    prior = model.card.model.details["tag_prior"]
    assert prior["weight"] in WEIGHTS and set(prior["cv_balanced_accuracy"]) == {f"{w:g}" for w in WEIGHTS}
    assert prior["tags"] == {"jazz": ["MSD:jazz"], "metal": ["MSD:metal", "MSD:heavy metal"]}
    assert prior["probe_columns"] == 200
    assert len(model.card.columns) == 250  # the probe's 200 and the 50 tag scores: one graph reads them all
    probs = model.predict_proba(np.random.default_rng(0).uniform(0, 1, (3, 250)))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert model.card.validation is not None and model.card.validation.metrics["accuracy"] == 1.0  # noise vs tones


def test_a_tag_prior_without_tag_scores_is_a_clear_error(tmp_path: Path):
    manifest = _genre_collection(tmp_path / "data", per_label=3)
    with pytest.raises(ConfigError, match="musicnn_tags"):
        train(manifest, tmp_path / "x.genre", "logreg", ClassicConfig(feature_set="seed", window=1.0, tag_prior=True))


def test_a_prior_weight_without_a_tag_prior_is_refused_before_any_work(tmp_path: Path):
    with pytest.raises(ConfigError, match="prior weight"):
        train(tmp_path / "missing.csv", tmp_path / "x.genre", "logreg", ClassicConfig(prior_weight=0.5))
