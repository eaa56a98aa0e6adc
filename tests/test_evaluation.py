"""Leak-free splits, window aggregation and metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as skm

from genrekit.evaluation import (
    GroupLeakError,
    aggregate_windows,
    assert_no_group_leak,
    classification_metrics,
    expected_calibration_error,
    grouped_folds,
    grouped_train_test_split,
    most_confused_pairs,
)


def random_layout(rng: np.random.Generator):
    """Random groups (1-12 windows each) over 2-5 classes; group ids are strings, shuffled order."""
    n_groups = int(rng.integers(10, 60))
    n_classes = int(rng.integers(2, 6))
    sizes = rng.integers(1, 13, size=n_groups)
    group_class = rng.integers(0, n_classes, size=n_groups)
    groups = np.repeat([f"track{i}" for i in range(n_groups)], sizes)
    y = np.repeat(group_class, sizes)
    # some groups hold windows of two classes (a track with a genre change)
    flip = rng.random(len(y)) < 0.05
    y = np.where(flip, (y + 1) % n_classes, y)
    order = rng.permutation(len(y))
    return y[order], groups[order], n_groups


# ------------------------------------------------------------------- splits


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_grouped_folds_never_leak_across_many_layouts():
    rng = np.random.default_rng(1234)
    for trial in range(60):
        y, groups, n_groups = random_layout(rng)
        n_splits = int(rng.integers(2, min(6, n_groups) + 1))
        folds = grouped_folds(y, groups, n_splits=n_splits, seed=trial)
        assert len(folds) == n_splits
        seen_test = np.zeros(len(y), dtype=int)
        for train, test in folds:
            assert set(groups[train]).isdisjoint(groups[test]), f"trial {trial}: a group on both sides"
            assert len(np.intersect1d(train, test)) == 0
            assert len(train) + len(test) == len(y)
            seen_test[test] += 1
        assert np.all(seen_test == 1), "every window is tested exactly once"


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_grouped_train_test_split_never_leaks():
    rng = np.random.default_rng(7)
    for trial in range(30):
        y, groups, n_groups = random_layout(rng)
        train, test = grouped_train_test_split(y, groups, test_fraction=0.25, seed=trial)
        assert set(groups[train]).isdisjoint(groups[test])
        assert len(train) > 0 and len(test) > 0
        assert len(train) + len(test) == len(y)


def fold_partition(folds, groups) -> frozenset:
    """The folds as a set of test-group sets: equal when the same groups are tested together, whatever the fold order."""
    return frozenset(frozenset(groups[test].tolist()) for _, test in folds)


def even_layout(n_groups: int = 40, n_classes: int = 4, windows: int = 3, seed: int = 0):
    """Equal-sized one-class groups: many fold assignments are equally stratified, so the seed must choose one."""
    group_class = np.arange(n_groups) % n_classes
    groups = np.repeat([f"track{i}" for i in range(n_groups)], windows)
    y = np.repeat(group_class, windows)
    order = np.random.default_rng(seed).permutation(len(y))
    return y[order], groups[order]


def test_grouped_folds_are_reproducible_and_seed_dependent():
    rng = np.random.default_rng(3)
    y, groups, _ = random_layout(rng)
    a = grouped_folds(y, groups, 3, seed=1)
    b = grouped_folds(y, groups, 3, seed=1)
    assert all(np.array_equal(x[1], z[1]) for x, z in zip(a, b))
    assert all(np.array_equal(x[0], z[0]) for x, z in zip(a, b))

    y, groups = even_layout()
    # the same seed: the same folds, in the same order
    for seed in (0, 1, 7):
        first, again = grouped_folds(y, groups, 4, seed=seed), grouped_folds(y, groups, 4, seed=seed)
        for (tr1, te1), (tr2, te2) in zip(first, again):
            assert np.array_equal(tr1, tr2) and np.array_equal(te1, te2)
    # different seeds: different groups tested together (not just the folds renumbered)
    assert fold_partition(grouped_folds(y, groups, 4, seed=1), groups) != fold_partition(
        grouped_folds(y, groups, 4, seed=2), groups
    )
    partitions = {fold_partition(grouped_folds(y, groups, 4, seed=s), groups) for s in range(10)}
    assert len(partitions) >= 5, f"10 seeds gave only {len(partitions)} different fold assignments"
    # every seed's folds still keep groups whole, test each window once and stay stratified
    for s in range(10):
        folds = grouped_folds(y, groups, 4, seed=s)
        seen = np.zeros(len(y), dtype=int)
        for train, test in folds:
            assert set(groups[train]).isdisjoint(groups[test])
            # 10 groups of each class over 4 folds: 2 or 3 of each class per fold
            assert set(np.bincount(y[test], minlength=4) // 3) <= {2, 3}
            seen[test] += 1
        assert np.all(seen == 1)
    # no seed: no shuffling, the same folds every time
    assert fold_partition(grouped_folds(y, groups, 4, seed=None), groups) == fold_partition(
        grouped_folds(y, groups, 4, seed=None), groups
    )


def test_grouped_train_test_split_depends_on_the_seed():
    y, groups = even_layout()
    held_out = lambda seed: frozenset(groups[grouped_train_test_split(y, groups, 0.25, seed=seed)[1]].tolist())  # noqa: E731
    assert held_out(3) == held_out(3)
    assert len({held_out(s) for s in range(10)}) >= 5
    for s in range(10):
        train, test = grouped_train_test_split(y, groups, 0.25, seed=s)
        assert set(groups[train]).isdisjoint(groups[test])


def test_grouped_folds_bad_input():
    with pytest.raises(ValueError, match="3 grouped folds from 2 group"):
        grouped_folds([0, 1, 0, 1], ["a", "a", "b", "b"], n_splits=3)
    with pytest.raises(ValueError, match="samples"):
        grouped_folds([0, 1, 0], ["a", "b"], n_splits=2)
    with pytest.raises(ValueError, match="n_splits"):
        grouped_folds([0, 1], ["a", "b"], n_splits=1)


def test_assert_no_group_leak():
    assert_no_group_leak(["a", "a", "b"], ["c", "d"])
    with pytest.raises(GroupLeakError, match="'b'") as info:
        assert_no_group_leak(["a", "b", "b"], ["b", "c"])
    assert "1 group(s)" in str(info.value)
    assert isinstance(info.value, ValueError)


# -------------------------------------------------------------- aggregation


def test_aggregate_windows_by_hand():
    probs = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]])
    ids = ["b", "b", "a"]
    tracks, mean = aggregate_windows(probs, ids, "mean")
    assert tracks.tolist() == ["b", "a"]  # first appearance order
    np.testing.assert_allclose(mean, [[0.7, 0.3], [0.2, 0.8]])
    _, logmean = aggregate_windows(probs, ids, "logmean")
    # geometric means sqrt(.45), sqrt(.05) -> 0.6708, 0.2236, renormalised -> 0.75, 0.25
    np.testing.assert_allclose(logmean, [[0.75, 0.25], [0.2, 0.8]])
    _, vote = aggregate_windows(probs, ids, "vote")
    np.testing.assert_allclose(vote, [[1.0, 0.0], [0.0, 1.0]])  # the tie goes to the first column


def test_aggregate_windows_vote_shares_and_zero_probabilities():
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.9, 0.1], [0.2, 0.3, 0.5]])
    tracks, vote = aggregate_windows(probs, [7, 7, 7, 7], "vote")
    assert tracks.tolist() == [7]
    np.testing.assert_allclose(vote, [[0.25, 0.5, 0.25]])
    _, logmean = aggregate_windows(probs, [7, 7, 7, 7], "logmean")
    assert np.all(np.isfinite(logmean)) and np.isclose(logmean.sum(), 1.0)


def test_aggregate_windows_rows_sum_to_one_for_random_input():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), size=50)
    ids = rng.integers(0, 8, size=50)
    for method in ("mean", "logmean", "vote"):
        tracks, out = aggregate_windows(p, ids, method)
        assert out.shape == (len(np.unique(ids)), 5)
        np.testing.assert_allclose(out.sum(axis=1), 1.0)
        first = [i for k, i in enumerate(ids) if i not in ids[:k]]
        assert tracks.tolist() == first


def test_aggregate_windows_bad_input():
    with pytest.raises(ValueError, match="aggregation"):
        aggregate_windows(np.ones((2, 2)) / 2, [1, 1], "median")
    with pytest.raises(ValueError, match="one id per window"):
        aggregate_windows(np.ones((2, 2)) / 2, [1], "mean")
    with pytest.raises(ValueError, match="2-D"):
        aggregate_windows(np.ones(4), [1, 1, 1, 1], "mean")


# ------------------------------------------------------------------ metrics


def test_metrics_hand_computed():
    labels = ["a", "b"]
    y = ["a", "a", "b", "b"]
    proba = np.array([[0.9, 0.1],    # a, correct, conf .9
                      [0.38, 0.62],  # a, wrong (b), conf .62
                      [0.18, 0.82],  # b, correct, conf .82
                      [0.45, 0.55]])  # b, correct, conf .55
    m = classification_metrics(y, proba, labels)
    assert m["n_samples"] == 4
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["confusion"]["counts"] == [[1, 1], [0, 2]]
    assert m["confusion"]["normalized"] == [[0.5, 0.5], [0.0, 1.0]]
    assert m["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert m["per_class"]["a"]["recall"] == pytest.approx(0.5)
    assert m["per_class"]["a"]["support"] == 2
    ll = -(np.log(0.9) + np.log(0.38) + np.log(0.82) + np.log(0.55)) / 4
    assert m["log_loss"] == pytest.approx(ll)
    # four confidences in four different bins: ECE = mean |correct - conf|
    assert m["ece"] == pytest.approx((0.1 + 0.62 + 0.18 + 0.45) / 4)
    assert m["mean_confidence"] == pytest.approx((0.9 + 0.62 + 0.82 + 0.55) / 4)
    assert m["most_confused"] == [{"true": "a", "predicted": "b", "count": 1, "rate": 0.5}]
    filled = [b for b in m["reliability"]["bins"] if b["count"]]
    assert [b["count"] for b in filled] == [1, 1, 1, 1]
    assert len(m["reliability"]["bins"]) == 15


def test_ece_averages_within_a_bin():
    # both confidences .7 and .72 fall in (0.6667, 0.7333]: bin conf .71, accuracy .5 -> ECE .21
    y = ["a", "b"]
    proba = np.array([[0.7, 0.3], [0.72, 0.28]])
    assert expected_calibration_error(y, proba, ["a", "b"]) == pytest.approx(0.21)
    # a perfectly confident, always right model has ECE 0
    assert expected_calibration_error(["a", "b"], np.eye(2), ["a", "b"]) == pytest.approx(0.0)


def test_metrics_agree_with_sklearn():
    rng = np.random.default_rng(42)
    labels = ["blues", "jazz", "metal", "pop"]
    y_idx = rng.integers(0, 4, size=200)
    logits = rng.normal(size=(200, 4)) + 1.5 * np.eye(4)[y_idx]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array(labels)[y_idx]
    m = classification_metrics(y, proba, labels)
    pred = proba.argmax(axis=1)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y_idx, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y_idx, pred))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y_idx, proba, labels=range(4)))
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y_idx, pred, average="macro"))
    assert m["confusion"]["counts"] == skm.confusion_matrix(y_idx, pred).tolist()
    prec, rec, f1, sup = skm.precision_recall_fscore_support(y_idx, pred, zero_division=0)
    for i, label in enumerate(labels):
        assert m["per_class"][label]["precision"] == pytest.approx(prec[i])
        assert m["per_class"][label]["recall"] == pytest.approx(rec[i])
        assert m["per_class"][label]["f1"] == pytest.approx(f1[i])
        assert m["per_class"][label]["support"] == sup[i]
    norm = np.asarray(m["confusion"]["normalized"])
    np.testing.assert_allclose(norm.sum(axis=1), 1.0)
    # ECE recomputed directly from its definition
    conf, correct = proba.max(axis=1), (pred == y_idx)
    edges = np.linspace(0, 1, 16)
    ece = sum(abs(correct[(conf > lo) & (conf <= hi)].mean() - conf[(conf > lo) & (conf <= hi)].mean())
              * ((conf > lo) & (conf <= hi)).mean()
              for lo, hi in zip(edges[:-1], edges[1:]) if ((conf > lo) & (conf <= hi)).any())
    assert m["ece"] == pytest.approx(ece)
    assert sum(b["count"] for b in m["reliability"]["bins"]) == 200


def test_metrics_with_absent_class_are_json_clean():
    labels = ["a", "b", "c"]
    y = ["a", "b", "a", "b"]
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    m = classification_metrics(y, proba, labels)
    text = json.dumps(m, allow_nan=False)  # no NaN, no numpy types
    assert json.loads(text)["per_class"]["c"]["support"] == 0
    assert m["confusion"]["normalized"][2] == [0.0, 0.0, 0.0]
    assert np.isfinite(m["log_loss"])
    assert m["balanced_accuracy"] == pytest.approx((1.0 + 0.5) / 2)  # over classes present in y


def test_metrics_bad_input():
    with pytest.raises(ValueError, match="'z'"):
        classification_metrics(["a", "z"], np.array([[1.0, 0.0], [0.0, 1.0]]), ["a", "b"])
    with pytest.raises(ValueError, match="shape"):
        classification_metrics(["a", "b"], np.ones((2, 3)) / 3, ["a", "b"])
    with pytest.raises(ValueError, match="sum to 1"):
        classification_metrics(["a", "b"], np.array([[0.5, 0.1], [0.5, 0.5]]), ["a", "b"])


def test_most_confused_pairs_order_and_k():
    cm = [[5, 3, 0], [1, 4, 3], [2, 0, 9]]
    labels = ["x", "y", "z"]
    pairs = most_confused_pairs(cm, labels, k=3)
    # counts 3 (x->y, rate 3/8) and 3 (y->z, rate 3/8) tie on count and rate: label order decides
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs] == [("x", "y", 3), ("y", "z", 3), ("z", "x", 2)]
    assert pairs[2]["rate"] == pytest.approx(2 / 11)
    assert len(most_confused_pairs(cm, labels, k=10)) == 4  # zero cells left out
    with pytest.raises(ValueError, match="square"):
        most_confused_pairs([[1, 2]], labels)


# ------------------------------------------------------------- two-way protocol and temperature


def test_two_way_directions_never_share_an_artist_and_score_every_item_once():
    from genrekit.evaluation import two_way_directions

    rng = np.random.default_rng(3)
    artists = np.array([f"artist{i}" for i in rng.integers(0, 30, size=400)])
    side = {a: ("train" if i % 3 else "valid") for i, a in enumerate(sorted(set(artists)))}
    splits = np.array([side[a] for a in artists])
    directions = two_way_directions(splits, artists)
    assert [name for name, _, _ in directions] == ["train->valid", "valid->train"]
    scored = np.concatenate([s for _, _, s in directions])
    assert sorted(scored.tolist()) == list(range(len(artists)))  # every item once
    for _, fit_idx, scored_idx in directions:
        assert not set(artists[fit_idx]) & set(artists[scored_idx])
        assert set(splits[fit_idx]) != set(splits[scored_idx])


def test_two_way_directions_refuse_an_artist_on_both_sides_and_unscored_items():
    from genrekit.evaluation import two_way_directions

    with pytest.raises(GroupLeakError, match="both"):
        two_way_directions(["train", "valid", "train"], ["a", "a", "b"])
    with pytest.raises(ValueError, match="exactly once"):
        two_way_directions(["train", "valid", "test"], ["a", "b", "c"])


def _over_confident(rng: np.random.Generator, n: int = 600, n_labels: int = 4):
    """Probabilities far sharper than their accuracy (~60 %): a synthetic over-confident model."""
    y = rng.integers(0, n_labels, size=n)
    logits = rng.normal(size=(n, n_labels))
    logits[np.arange(n), y] += 1.0
    p = np.exp(4.0 * logits)
    return y, p / p.sum(axis=1, keepdims=True)


def test_temperature_fit_out_of_fold_lowers_ece_and_keeps_every_argmax():
    from genrekit.evaluation import apply_temperature, fit_temperature

    rng = np.random.default_rng(0)
    labels = ["a", "b", "c", "d"]
    y_fit, p_fit = _over_confident(rng)
    y_test, p_test = _over_confident(rng)  # scored on other items than the temperature was fit on
    t = fit_temperature(p_fit, np.arange(len(y_fit)), np.array(labels)[y_fit], labels)
    assert t > 1.5  # over-confident: softened
    tempered = apply_temperature(p_test, t)
    truth = np.array(labels)[y_test]
    before = expected_calibration_error(truth, p_test, labels)
    after = expected_calibration_error(truth, tempered, labels)
    assert after < before / 2
    assert (tempered.argmax(axis=1) == p_test.argmax(axis=1)).all()
    np.testing.assert_allclose(tempered.sum(axis=1), 1.0)


def test_temperature_is_fit_on_track_verdicts_of_tempered_windows():
    from genrekit.evaluation import apply_temperature, fit_temperature

    rng = np.random.default_rng(1)
    labels = ["a", "b", "c", "d"]
    y, p = _over_confident(rng, n=900)
    tracks = np.repeat(np.arange(300), 3)  # three windows per track, each track's truth its first window's
    truth = np.array(labels)[np.repeat(y[::3], 3)]
    t = fit_temperature(p, tracks, truth, labels)

    def track_loss(temp: float) -> float:
        _, track = aggregate_windows(apply_temperature(p, temp), tracks)
        return float(-np.mean(np.log(track[np.arange(300), y[::3]])))

    assert track_loss(t) <= min(track_loss(t * 0.8), track_loss(t * 1.25), track_loss(1.0))
    np.testing.assert_allclose(apply_temperature(p, 1.0), p, atol=1e-9)
    with pytest.raises(ValueError, match="positive"):
        apply_temperature(p, 0.0)
