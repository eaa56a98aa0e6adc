"""scripts/two_way.py's pieces on a synthetic feature table: both directions scored, calibration out of fold."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from genrekit.store import FeatureMatrix

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "two_way.py"


@pytest.fixture(scope="module")
def two_way():
    spec = importlib.util.spec_from_file_location("two_way_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _table(rng: np.random.Generator, labels: list[str], per_split: dict[str, int], windows: int = 3) -> FeatureMatrix:
    """Tracks of 3 windows; each label's tracks sit around their own centre, train and valid on separate artists."""
    rows, paths, truth, splits = [], [], [], []
    for split, n in per_split.items():
        for t in range(n):
            label = labels[t % len(labels)]
            centre = np.eye(len(labels), 6)[labels.index(label)] * 2.0
            for _ in range(windows):
                rows.append(centre + rng.normal(scale=1.0, size=6))
                paths.append(f"/{split}/{label}{t}.wav")
                truth.append(label)
                splits.append(split)
    n = len(rows)
    return FeatureMatrix(X=np.asarray(rows, dtype=np.float32), columns=[f"c{i}" for i in range(6)],
                         paths=np.array(paths), labels=np.array(truth), splits=np.array(splits),
                         groups=np.array(paths), starts=np.zeros(n), ends=np.ones(n), metadata={})


def test_every_track_is_scored_once_in_each_candidate_and_the_ensemble(two_way):
    labels = ["a", "b", "c"]
    data = _table(np.random.default_rng(0), labels, {"train": 24, "valid": 12})
    held, size_mb, _, _ = two_way.probe_held_out("logreg", data, labels, lambda _line: None)
    assert size_mb > 0
    assert set(held.direction.tolist()) == {"train->valid", "valid->train"}
    assert (held.direction[data.splits == "valid"] == "train->valid").all()  # valid windows scored by the train fit
    np.testing.assert_allclose(held.probs.sum(axis=1), 1.0)
    result = two_way.score(held, labels)
    assert {d["n_tracks"] for d in result["directions"].values()} == {24, 12}
    assert all(d["balanced_accuracy"] > 0.6 for d in result["directions"].values())  # separable classes
    assert result["calibration"]["temperature_all_held_out"] > 0
    assert sum(b["count"] for b in result["calibration"]["pooled_before"]["bins"]) == 36  # every track once

    svm, _, _, _ = two_way.probe_held_out("svm", data, labels, lambda _line: None)
    ensemble = two_way.ensemble_held_out([held, svm])
    ids, _, probs = ensemble.track_probs()
    assert len(ids) == 36 and len(set(ids.tolist())) == 36
    _, _, logreg_tracks = held.track_probs()
    _, _, svm_tracks = svm.track_probs()
    np.testing.assert_allclose(probs, (logreg_tracks + svm_tracks) / 2)


def test_a_tag_prior_candidate_is_scored_both_ways_and_gets_a_shipped_weight_and_temperature(two_way):
    from genrekit.features import get_feature_set
    from genrekit.models.tag_prior import WEIGHTS

    columns = get_feature_set("musicnn_tags").column_names
    labels = ["jazz", "metal", "rock"]
    rng = np.random.default_rng(0)
    rows, paths, truth, splits = [], [], [], []
    for split, n in {"train": 18, "valid": 9}.items():
        for t in range(n):
            label = labels[t % 3]
            for _ in range(3):
                x = rng.uniform(0.0, 0.2, len(columns))
                x[:200] = rng.normal(size=200)
                x[labels.index(label)] += 0.5
                x[columns.index(f"msd_musicnn_taggram_mean_{label}")] = rng.uniform(0.5, 1.0)
                rows.append(x)
                paths.append(f"/{split}/{label}{t}.wav")
                truth.append(label)
                splits.append(split)
    n = len(rows)
    data = FeatureMatrix(X=np.asarray(rows, dtype=np.float32), columns=list(columns), paths=np.array(paths),
                         labels=np.array(truth), splits=np.array(splits), groups=np.array(paths),
                         starts=np.zeros(n), ends=np.ones(n), metadata={})
    held, size_mb, _, chosen = two_way.probe_held_out("logreg", data, labels, lambda _line: None, search=True,
                                                      prior=True)
    assert size_mb > 0 and set(held.direction.tolist()) == {"train->valid", "valid->train"}
    np.testing.assert_allclose(held.probs.sum(axis=1), 1.0, atol=1e-6)
    shipped = chosen["all_held_out"]
    assert shipped["prior_weight"] in WEIGHTS and shipped["temperature"] > 0
    assert shipped["mean_balanced_accuracy_by_weight"][f"{shipped['prior_weight']:g}"] == max(
        shipped["mean_balanced_accuracy_by_weight"].values())
    assert all(chosen[d]["prior_weight"] in WEIGHTS for d in ("train->valid", "valid->train"))
