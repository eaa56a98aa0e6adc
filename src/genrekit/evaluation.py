"""Honest evaluation: leak-free splits, window-to-track aggregation, metrics.

Windows cut from one track are near-duplicates, so any split that puts
windows of one track (or artist) on both sides inflates every score. All
splitting here is grouped; :func:`assert_no_group_leak` is the guard that
training and evaluation code call before trusting a split.

Metrics are returned as plain JSON data (no NaN, no numpy types) so they can
go straight into a model card or a report.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from genrekit.errors import ConfigError, GroupLeakError  # GroupLeakError: raised by the split helpers

AGGREGATION_METHODS: tuple[str, ...] = ("mean", "logmean", "vote")
ECE_BINS = 15



# --------------------------------------------------------------------- splits


def assert_no_group_leak(train_groups: Sequence[Any], test_groups: Sequence[Any]) -> None:
    """Raise :class:`GroupLeakError` if any group id appears on both sides."""
    shared = set(np.asarray(train_groups).tolist()) & set(np.asarray(test_groups).tolist())
    if shared:
        shown = ", ".join(repr(g) for g in sorted(shared, key=str)[:5])
        more = f" (and {len(shared) - 5} more)" if len(shared) > 5 else ""
        raise GroupLeakError(
            f"{len(shared)} group(s) have samples in both train and test: {shown}{more}; "
            "windows of one track must stay on one side of a split"
        )


def _check_y_groups(y: Sequence[Any], groups: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    groups = np.asarray(groups)
    if y.ndim != 1 or groups.ndim != 1:
        raise ValueError("y and groups must be 1-D")
    if len(y) != len(groups):
        raise ValueError(f"y has {len(y)} samples but groups has {len(groups)}")
    return y, groups


def grouped_folds(y: Sequence[Any], groups: Sequence[Any], n_splits: int = 5,
                  seed: int | None = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_splits`` stratified folds that keep each group on one side.

    ``y`` ``(n,)`` labels, ``groups`` ``(n,)`` track (or artist) ids. Returns
    ``[(train_idx, test_idx), ...]``; every sample is in exactly one test
    fold. Uses ``StratifiedGroupKFold`` (shuffled by ``seed``), so class
    proportions per fold are as even as whole groups allow.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    y, groups = _check_y_groups(y, groups)
    if n_splits < 2:
        raise ValueError("n_splits must be >= 2")
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        raise ValueError(f"cannot make {n_splits} grouped folds from {n_groups} group(s)")
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=seed is not None, random_state=seed)
    folds = []
    for train, test in cv.split(np.zeros((len(y), 1)), y, groups):
        assert_no_group_leak(groups[train], groups[test])
        folds.append((train, test))
    return folds


def grouped_train_test_split(y: Sequence[Any], groups: Sequence[Any], test_fraction: float = 0.2,
                             seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(train_idx, test_idx)`` holding out about ``test_fraction`` of the groups, stratified."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must be in (0, 1)")
    n_splits = max(2, int(round(1.0 / test_fraction)))
    return grouped_folds(y, groups, n_splits=n_splits, seed=seed)[0]


# ---------------------------------------------------------------- aggregation


def aggregate_windows(window_probs: np.ndarray, track_ids: Sequence[Any],
                      method: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Combine window probabilities ``(n_windows, n_labels)`` into one row per track.

    ``method``: ``"mean"`` (average probability), ``"logmean"`` (geometric
    mean, renormalised: one confident window weighs less than in ``mean``, a
    window calling a class impossible weighs more), ``"vote"`` (share of
    windows whose top class is each label; ties go to the lower column).
    Returns ``(track_ids, track_probs)`` with tracks in order of first
    appearance and rows summing to 1.
    """
    if method not in AGGREGATION_METHODS:
        raise ConfigError(f"unknown aggregation {method!r}; choose from {', '.join(AGGREGATION_METHODS)}")
    p = np.asarray(window_probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"window_probs must be 2-D (n_windows, n_labels), got shape {p.shape}")
    ids = np.asarray(track_ids)
    if ids.ndim != 1 or len(ids) != len(p):
        raise ValueError(f"track_ids must be 1-D with one id per window ({len(p)}), got shape {ids.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("window_probs contains NaN or infinite values")
    if len(p) == 0:
        return ids[:0], np.zeros((0, p.shape[1]))
    uniq, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # tracks in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    row = rank[inverse.ravel()]
    n_tracks, n_labels = len(uniq), p.shape[1]
    counts = np.bincount(row, minlength=n_tracks).astype(np.float64)[:, None]
    if method == "mean":
        values = p
    elif method == "logmean":
        values = np.log(np.clip(p, 1e-12, None))
    else:
        values = np.zeros_like(p)
        values[np.arange(len(p)), np.argmax(p, axis=1)] = 1.0
    sums = np.zeros((n_tracks, n_labels))
    np.add.at(sums, row, values)
    out = sums / counts
    if method == "logmean":
        out = np.exp(out - out.max(axis=1, keepdims=True))
    out /= out.sum(axis=1, keepdims=True)
    return uniq[order], out


# -------------------------------------------------------------------- metrics


def _label_indices(y_true: Sequence[Any], labels: Sequence[Any]) -> np.ndarray:
    labels = [str(label) for label in labels]
    if len(set(labels)) != len(labels):
        raise ValueError("labels must be unique")
    index = {label: i for i, label in enumerate(labels)}
    y = [str(v) for v in np.asarray(y_true).tolist()]
    unknown = sorted(set(y) - set(index))
    if unknown:
        raise ValueError(f"y_true has label(s) not in labels: {', '.join(map(repr, unknown[:5]))}")
    return np.array([index[v] for v in y], dtype=np.int64)


def reliability_bins(y_idx: np.ndarray, proba: np.ndarray, n_bins: int = ECE_BINS) -> tuple[float, list[dict]]:
    """Top-label expected calibration error and its reliability bins.

    Confidence = the top probability of each row; bins are ``n_bins``
    equal-width intervals ``(lo, hi]`` over ``[0, 1]`` (the first includes 0).
    ECE = sum over bins of ``count / n * |accuracy - mean confidence|``.
    Returns ``(ece, bins)``; each bin is ``{lower, upper, count, confidence,
    accuracy}`` (``confidence``/``accuracy`` are ``None`` for empty bins).
    """
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_idx).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    n = len(conf)
    ece = 0.0
    bins = []
    for b in range(n_bins):
        mask = which == b
        count = int(mask.sum())
        if count:
            c, a = float(conf[mask].mean()), float(correct[mask].mean())
            ece += count / n * abs(a - c)
        else:
            c = a = None
        bins.append({"lower": float(edges[b]), "upper": float(edges[b + 1]), "count": count,
                     "confidence": c, "accuracy": a})
    return float(ece), bins


def expected_calibration_error(y_true: Sequence[Any], proba: np.ndarray, labels: Sequence[Any],
                               n_bins: int = ECE_BINS) -> float:
    """Top-label ECE of ``proba`` ``(n, n_labels)`` against ``y_true`` (see :func:`reliability_bins`)."""
    y_idx = _label_indices(y_true, labels)
    return reliability_bins(y_idx, _check_proba(proba, len(y_idx), len(labels)), n_bins)[0]


def most_confused_pairs(confusion: Sequence[Sequence[int]], labels: Sequence[Any], k: int = 5) -> list[dict]:
    """The ``k`` largest off-diagonal cells of a count confusion matrix (rows = truth).

    Each item: ``{"true", "predicted", "count", "rate"}`` where ``rate`` is the
    share of the true class sent to ``predicted``. Zero cells are left out;
    ties break by rate, then label order.
    """
    cm = np.asarray(confusion)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(labels):
        raise ValueError(f"confusion must be square with one row per label ({len(labels)}), got shape {cm.shape}")
    support = cm.sum(axis=1)
    pairs = []
    for i in range(len(labels)):
        for j in range(len(labels)):
            if i != j and cm[i, j] > 0:
                pairs.append((-int(cm[i, j]), -float(cm[i, j] / support[i]), i, j))
    pairs.sort()
    return [{"true": str(labels[i]), "predicted": str(labels[j]), "count": -c, "rate": -r}
            for c, r, i, j in pairs[:k]]


def _check_proba(proba: np.ndarray, n: int, n_labels: int) -> np.ndarray:
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape != (n, n_labels):
        raise ValueError(f"proba must have shape (n_samples={n}, n_labels={n_labels}), got {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("proba must be finite and non-negative")
    sums = p.sum(axis=1)
    if np.any(np.abs(sums - 1.0) > 1e-3):
        raise ValueError("proba rows must sum to 1")
    return p / sums[:, None]


def classification_metrics(y_true: Sequence[Any], proba: np.ndarray, labels: Sequence[Any], *,
                           n_bins: int = ECE_BINS, k_confused: int = 5) -> dict[str, Any]:
    """Every headline metric for probabilities ``proba`` ``(n, n_labels)`` (columns in ``labels`` order).

    ``y_true`` holds label values (compared as strings). Predictions are the
    arg-max column. Returns JSON-ready data: ``n_samples``, ``labels``,
    ``accuracy``, ``balanced_accuracy`` (mean recall over classes present in
    ``y_true``), ``macro_f1``, ``log_loss`` (natural log, over all
    ``labels`` so absent classes are fine), ``ece`` and ``reliability``
    (top-label, ``n_bins`` equal-width bins), ``mean_confidence`` (above
    ``accuracy`` = over-confident), ``per_class``
    (precision/recall/f1/support per label), ``confusion`` (``counts`` and
    row-normalised ``normalized``; rows = truth) and ``most_confused``.
    """
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        log_loss,
        precision_recall_fscore_support,
    )

    labels = [str(label) for label in labels]
    y_idx = _label_indices(y_true, labels)
    n = len(y_idx)
    if n == 0:
        raise ValueError("no samples to evaluate")
    p = _check_proba(proba, n, len(labels))
    pred = p.argmax(axis=1)
    idx = list(range(len(labels)))

    import warnings

    with warnings.catch_warnings():
        # Classes predicted but absent from y_true only warn; their recall is simply not averaged.
        warnings.simplefilter("ignore", UserWarning)
        balanced = balanced_accuracy_score(y_idx, pred)
    prec, rec, f1, support = precision_recall_fscore_support(y_idx, pred, labels=idx, zero_division=0)
    cm = confusion_matrix(y_idx, pred, labels=idx)
    row = cm.sum(axis=1, keepdims=True)
    normalized = np.divide(cm, row, out=np.zeros(cm.shape), where=row > 0)
    ece, bins = reliability_bins(y_idx, p, n_bins)
    present = support > 0
    return {
        "n_samples": int(n),
        "labels": labels,
        "accuracy": float(accuracy_score(y_idx, pred)),
        "balanced_accuracy": float(balanced),
        "macro_f1": float(f1[present].mean()),
        "log_loss": float(log_loss(y_idx, p, labels=idx)),
        "ece": ece,
        "mean_confidence": float(p.max(axis=1).mean()),
        "reliability": {"n_bins": int(n_bins), "bins": bins},
        "per_class": {
            label: {"precision": float(prec[i]), "recall": float(rec[i]), "f1": float(f1[i]),
                    "support": int(support[i])}
            for i, label in enumerate(labels)
        },
        "confusion": {"counts": cm.astype(int).tolist(), "normalized": normalized.tolist()},
        "most_confused": most_confused_pairs(cm, labels, k_confused),
    }


def track_scores(
    windows: Any, window_probs: np.ndarray, labels: Sequence[str], aggregation: str
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """Aggregate window probabilities to tracks, and score both levels.

    ``windows`` has ``paths`` and ``labels`` ``(n_windows,)`` (a
    :class:`~genrekit.store.FeatureMatrix`, say); ``window_probs`` is
    ``(n_windows, len(labels))``. Returns ``(track_metrics, per_track_rows,
    window_metrics)``; the rows give each track's path, truth, genre and confidence.
    """
    track_ids, track_probs = aggregate_windows(window_probs, windows.paths, method=aggregation)
    truth_by_path = dict(zip(windows.paths, windows.labels))
    truth = [truth_by_path[t] for t in track_ids]
    track_metrics = classification_metrics(truth, track_probs, labels)
    window_metrics = classification_metrics(list(windows.labels), window_probs, labels)
    rows = [{"path": str(t), "label": str(y), "genre": labels[int(np.argmax(p))], "confidence": float(np.max(p))}
            for t, y, p in zip(track_ids, truth, track_probs)]
    return track_metrics, rows, window_metrics


# ------------------------------------------------------------- two-way protocol


TWO_WAY = (("train", "valid"), ("valid", "train"))
"""The two directions of the two-way yardstick: train on the first split, score the second."""


def direction_name(fit_split: str, scored_split: str) -> str:
    """How results name a direction: ``"train->valid"``."""
    return f"{fit_split}->{scored_split}"


def two_way_directions(splits: Sequence[Any], groups: Sequence[Any],
                       directions: Sequence[tuple[str, str]] = TWO_WAY) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``[(name, fit_idx, scored_idx), ...]``: each direction fits on one split and scores the other.

    Why both: a yardstick that scores only the valid split (two tracks of some
    genres on GTZAN) selects on noise; scoring train from a model fit on valid
    as well means every labelled item is scored exactly once by a model that
    never saw its group (artist). ``splits`` and ``groups`` are ``(n,)`` per
    item (a track, or the windows of tracks). Raises :class:`GroupLeakError`
    if a group sits in both splits, and ``ValueError`` if an item would be
    scored twice or not at all (an item outside the named splits).
    """
    splits, groups = _check_y_groups(splits, groups)
    splits = np.array([str(s) for s in splits.tolist()], dtype=object)
    out = []
    scored = np.zeros(len(splits), dtype=int)
    for fit_split, scored_split in directions:
        fit_idx = np.flatnonzero(splits == fit_split)
        scored_idx = np.flatnonzero(splits == scored_split)
        if not len(fit_idx) or not len(scored_idx):
            raise ValueError(f"direction {direction_name(fit_split, scored_split)} needs items in both splits")
        assert_no_group_leak(groups[fit_idx], groups[scored_idx])
        scored[scored_idx] += 1
        out.append((direction_name(fit_split, scored_split), fit_idx, scored_idx))
    if np.any(scored != 1):
        bad = sorted({str(s) for s in splits[scored != 1]})
        raise ValueError(f"the directions must score every item exactly once; items of split(s) {', '.join(bad)} "
                         "are scored 0 or 2 times")
    return out


# ------------------------------------------------------------- calibration

TEMPERATURE_BOUNDS = (0.05, 20.0)
"""Temperatures :func:`fit_temperature` searches: wider than any sane model needs, so the bound never decides."""


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(p) / T)`` row by row: ``T > 1`` softens over-confident probabilities, ``T < 1`` sharpens.

    Works on probabilities, not logits, because every genrekit graph ends in
    probabilities; the arg-max of every row is unchanged (a monotone map).
    """
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    logp = np.log(np.clip(np.asarray(proba, dtype=np.float64), 1e-12, None)) / float(temperature)
    logp -= logp.max(axis=1, keepdims=True)
    out = np.exp(logp)
    return out / out.sum(axis=1, keepdims=True)


def fit_temperature(window_probs: np.ndarray, track_ids: Sequence[Any], y_true: Sequence[Any],
                    labels: Sequence[Any], aggregation: str = "mean") -> float:
    """The temperature minimising the track-level log loss of tempered window probabilities.

    Window probabilities ``(n_windows, n_labels)`` are tempered first and then
    aggregated per track (``aggregation``), since that is the order prediction
    uses once the temperature is part of the model. ``y_true`` holds one label
    per window. Fit it on held-out predictions only (out of fold): fit on the
    tracks it is scored on, it would flatter the calibration it claims.
    """
    from scipy.optimize import minimize_scalar  # deferred: only fitting needs scipy.optimize

    p = np.asarray(window_probs, dtype=np.float64)
    ids = np.asarray(track_ids)
    truth = dict(zip(ids.tolist(), [str(v) for v in np.asarray(y_true).tolist()]))
    order, _ = aggregate_windows(p, ids)
    y_idx = _label_indices([truth[t] for t in order.tolist()], labels)

    def loss(log_t: float) -> float:
        _, track = aggregate_windows(apply_temperature(p, float(np.exp(log_t))), ids, method=aggregation)
        return float(-np.mean(np.log(np.clip(track[np.arange(len(y_idx)), y_idx], 1e-12, None))))

    low, high = np.log(TEMPERATURE_BOUNDS[0]), np.log(TEMPERATURE_BOUNDS[1])
    result = minimize_scalar(loss, bounds=(low, high), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))
