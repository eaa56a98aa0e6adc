"""Ensembles: one model file that averages the probabilities of several model files.

Members may use different feature sets, sample rates and windowings (an SVM
on hand-crafted 30 s features next to a CNN on 3 s log-mel patches), so an
ensemble cannot be one ONNX graph over one feature vector. Instead the
ensemble's "feature set" (:class:`EnsembleFeatureSet`) *is* its members: for
each ensemble window, every member classifies that stretch of audio its own
way (resampled to its rate, cut into its windows, aggregated its way) and
the features are the members' probabilities side by side,
``n_members * n_labels`` columns in the ensemble's label order. ``model.onnx``
is then a tiny graph: a weighted sum of those blocks. Prediction, evaluation
and the feature cache need nothing new: :func:`genrekit.predict.model_inputs`
builds this feature set from the members embedded in the file.

File layout: the members are stored whole inside the ensemble's zip, member
``i``'s files under ``ensemble/<i>/`` (its sealed ``card.json``, its
``model.onnx``, ...), and verified like a model file of their own on load
(:meth:`genrekit.models.bundle.GenreModel.embedded_models`).

This module holds the ensemble's parts that are plain functions and
objects; training one is :mod:`genrekit.trainers.ensemble`.

Weights: ``equal``, or ``fit`` (default): non-negative weights summing to 1
that minimise the track-level log loss of the ensemble on the collection's
**valid split**. The ensemble's ``validation.metrics`` use those same weights on
the same tracks, so they are optimistic; the card says so. How well the weight
fitting itself generalises is measured out of fold
(``validation.out_of_fold``, :func:`out_of_fold_scores`): the valid tracks are
cut into grouped, stratified folds (a group, e.g. an artist, stays in one
fold), weights are fit on the other folds and applied to the held-out one,
and the held-out probabilities are scored like any validation. The shipped
weights are still the ones fit on the whole valid split. What stays
optimistic even out of fold: the members' own choices (a CNN's epoch, a
searched hyper-parameter) made on this split, since refitting those per fold
would mean retraining the members.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple, Sequence

import numpy as np

from genrekit.audio import resample
from genrekit.errors import ConfigError
from genrekit.evaluation import aggregate_windows, grouped_folds
from genrekit.features.base import Column, FeatureSet
from genrekit.models.bundle import INPUT_NAME, OUTPUT_NAME

KIND = "ensemble"
MEMBER_PREFIX = "ensemble/"
WEIGHTINGS = ("fit", "equal")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


# ----------------------------------------------------------------------------- the feature set


class EnsembleFeatureSet(FeatureSet):
    """Member probabilities of a window, ``(n_members * n_labels)`` columns.

    Built from the members' classifiers (:class:`genrekit.predict.GenreClassifier`:
    anything with ``labels``, ``sample_rate``, ``windowing``, ``aggregation``,
    ``bundle`` and ``window_probabilities``); the ensemble's sample rate is
    the highest member rate, and each member gets the window resampled to its own.
    """

    name = "ensemble"
    version = "1"

    def __init__(self, classifiers: Sequence[Any], labels: Sequence[str], names: Sequence[str]) -> None:
        if len(classifiers) < 2:
            raise ConfigError("an ensemble needs at least two members")
        if len(names) != len(classifiers):
            raise ConfigError(f"{len(classifiers)} members but {len(names)} names")
        self.labels = [str(label) for label in labels]
        self.names = list(names)
        self._classifiers = list(classifiers)
        for name, c in zip(self.names, self._classifiers):
            if sorted(c.labels) != sorted(self.labels):
                raise ConfigError(f"member {name} knows labels {sorted(c.labels)}, the ensemble {sorted(self.labels)}: "
                                  "members must share their labels")
        self.sample_rate = max(c.sample_rate for c in self._classifiers)
        self._columns = tuple(Column(f"{_slug(n)}__{_slug(label)}", f"probability of {label!r} from member {n}")
                              for n in self.names for label in self.labels)

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    @property
    def classifiers(self) -> list[Any]:
        return list(self._classifiers)

    def options(self) -> dict[str, Any]:
        # The member cards' hashes make the cache key: other members, other numbers.
        return {"members": [{"name": n, "card_sha256": c.bundle.card.card_sha256}
                            for n, c in zip(self.names, self._classifiers)],
                "labels": self.labels}

    def set_threads(self, threads: int | None) -> None:
        super().set_threads(threads)
        for classifier in self._classifiers:
            classifier.set_threads(threads)

    def min_window(self) -> float:
        """The longest member window (seconds): shorter ensemble windows would be too short for that member."""
        return max((c.windowing.window or 0.0) for c in self._classifiers)

    def member_probabilities(self, y: np.ndarray, sr: int) -> np.ndarray:
        """``(n_members, n_labels)``: each member's aggregated verdict on the signal ``y`` (at ``sr`` Hz)."""
        rows = []
        for c in self._classifiers:
            y_m = resample(np.asarray(y, dtype=np.float32), sr, c.sample_rate)
            _, probs = c.window_probabilities(y_m)
            _, track = aggregate_windows(probs, np.zeros(len(probs), dtype=int), method=c.aggregation)
            order = [c.labels.index(label) for label in self.labels]
            rows.append(track[0][order])
        return np.stack(rows)

    def extract(self, y: np.ndarray, sr: int) -> np.ndarray:
        if sr != self.sample_rate:
            raise ConfigError(f"{self.name} expects audio at {self.sample_rate} Hz, got {sr} Hz")
        return self.member_probabilities(y, sr).reshape(-1)


# ----------------------------------------------------------------------------- the combiner


def combiner_onnx(weights: Sequence[float], n_labels: int, labels: Sequence[str]):
    """ONNX graph: ``features`` ``(N, M * L)`` -> reshape ``(N, M, L)`` -> weighted sum over M -> ``probabilities``."""
    import onnx  # deferred: building graphs is for training, not for loading this module
    from onnx import TensorProto, helper, numpy_helper

    w = np.asarray(weights, dtype=np.float32).reshape(1, -1, 1)
    m = w.shape[1]
    nodes = [
        helper.make_node("Reshape", [INPUT_NAME, "shape"], ["blocks"]),
        helper.make_node("Mul", ["blocks", "weights"], ["weighted"]),
        helper.make_node("ReduceSum", ["weighted", "axis1"], [OUTPUT_NAME], keepdims=0),
    ]
    inits = [numpy_helper.from_array(np.array([-1, m, n_labels], dtype=np.int64), "shape"),
             numpy_helper.from_array(w, "weights"),
             numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")]
    graph = helper.make_graph(nodes, "genrekit_ensemble",
                              [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", m * n_labels])],
                              [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", n_labels])],
                              initializer=inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="genrekit")
    proto.ir_version = 8
    entry = proto.metadata_props.add()
    entry.key, entry.value = "genrekit.labels", json.dumps(list(labels))
    onnx.checker.check_model(proto)
    return proto


def fit_weights(blocks: np.ndarray, y: np.ndarray, *, l2: float = 1e-3) -> np.ndarray:
    """Simplex weights ``(M,)`` minimising the mean log loss of ``sum_m w_m blocks[:, m]``.

    ``blocks``: ``(n_tracks, M, L)`` member probabilities; ``y``: ``(n_tracks,)`` label indices.
    Softmax-parametrised, L-BFGS; a small pull towards equal weights keeps ties stable.
    """
    from scipy.optimize import minimize  # deferred: only weight fitting needs scipy.optimize

    n, m, _ = blocks.shape
    picked = blocks[np.arange(n), :, y]  # (n, M): each member's probability of the truth

    def loss(theta: np.ndarray) -> float:
        w = np.exp(theta - theta.max())
        w /= w.sum()
        return float(-np.mean(np.log(np.clip(picked @ w, 1e-12, None))) + l2 * np.sum((w - 1 / m) ** 2))

    res = minimize(loss, np.zeros(m), method="L-BFGS-B")
    w = np.exp(res.x - res.x.max())
    return w / w.sum()


def n_out_of_fold(y: Sequence[Any], groups: Sequence[Any], n_folds: int = 5) -> tuple[int, str]:
    """How many grouped folds the tracks allow, and why fewer than ``n_folds`` (``""`` if not).

    ``y`` ``(n_tracks,)`` labels, ``groups`` ``(n_tracks,)`` group ids. At most
    ``n_folds``, and at most the fewest distinct groups any label present has,
    so stratified grouped folds can give every fold each label. Below 2 there
    is nothing to hold out.
    """
    if n_folds < 2:
        raise ValueError(f"n_folds must be >= 2, got {n_folds}")
    y, groups = np.asarray(y), np.asarray(groups)
    if len(y) != len(groups):
        raise ValueError(f"y has {len(y)} tracks but groups has {len(groups)}")
    if not len(y):
        return 0, "no tracks"
    per_label = {str(label): len(np.unique(groups[y == label])) for label in np.unique(y)}
    fewest = min(per_label, key=per_label.__getitem__)
    k = min(n_folds, per_label[fewest])
    if k >= n_folds:
        return k, ""
    why = f"label {fewest!r} has {per_label[fewest]} group(s) in the valid split"
    return k, (f"{why}: {k} folds instead of {n_folds}" if k >= 2 else f"{why}: too few for 2 grouped folds")


class OutOfFold(NamedTuple):
    """Result of :func:`out_of_fold_scores`."""

    probs: np.ndarray
    """``(n_tracks, L)``: each track's ensemble probabilities, with weights fit without its fold."""
    weights: np.ndarray
    """``(K, M)``: the weights fit for each fold (on the other folds' tracks)."""
    fold: np.ndarray
    """``(n_tracks,)``: the fold that held each track out (index into ``weights``)."""


def out_of_fold_scores(track_blocks: np.ndarray, y: np.ndarray, groups: Sequence[Any], *,
                       n_folds: int = 5, seed: int | None = 0) -> OutOfFold:
    """Held-out ensemble probabilities: weights fit on the other folds, applied to each fold in turn.

    ``track_blocks``: ``(n_tracks, M, L)`` member probabilities per track; ``y``:
    ``(n_tracks,)`` label indices; ``groups``: ``(n_tracks,)`` group ids (tracks
    of a group stay in one fold). Folds: ``StratifiedGroupKFold`` shuffled by
    ``seed`` (:func:`genrekit.evaluation.grouped_folds`), ``n_folds`` reduced
    as :func:`n_out_of_fold` says; raises ``ValueError`` when fewer than 2 are possible.
    """
    blocks = np.asarray(track_blocks, dtype=np.float64)
    if blocks.ndim != 3:
        raise ValueError(f"track_blocks must be 3-D (n_tracks, n_members, n_labels), got shape {blocks.shape}")
    y = np.asarray(y, dtype=int)
    if y.shape != (len(blocks),):
        raise ValueError(f"y must hold one label index per track ({len(blocks)}), got shape {y.shape}")
    groups = np.asarray(groups)
    k, why = n_out_of_fold(y, groups, n_folds)
    if k < 2:
        raise ValueError(f"cannot fit ensemble weights out of fold: {why}")
    probs = np.empty((len(blocks), blocks.shape[2]))
    fold = np.full(len(blocks), -1)
    weights = []
    for i, (fit_idx, held) in enumerate(grouped_folds(y, groups, n_splits=k, seed=seed)):
        w = fit_weights(blocks[fit_idx], y[fit_idx])
        p = np.einsum("nml,m->nl", blocks[held], w)
        probs[held] = p / p.sum(axis=1, keepdims=True)
        fold[held] = i
        weights.append(w)
    return OutOfFold(probs=probs, weights=np.stack(weights), fold=fold)


__all__ = ["EnsembleFeatureSet", "KIND", "OutOfFold", "WEIGHTINGS", "combiner_onnx", "fit_weights", "n_out_of_fold",
           "out_of_fold_scores"]
