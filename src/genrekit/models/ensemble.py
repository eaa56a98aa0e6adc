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
and the feature cache need nothing new; :class:`genrekit.predict.GenreClassifier`
only has to build the feature set from the file rather than from the card
(:func:`ensemble_feature_set`).

File layout: the members are stored whole inside the ensemble's zip, member
``i``'s files under ``ensemble/<i>/`` (its sealed ``card.json``, its
``model.onnx``, ...), and verified like a model file of their own on load.

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
import os
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np

from genrekit.errors import DatasetError, ModelFileError
from genrekit.features.base import Column, FeatureSet

KIND = "ensemble"
MEMBER_PREFIX = "ensemble/"
WEIGHTINGS = ("fit", "equal")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


# ----------------------------------------------------------------------------- members inside a zip


def member_files(model: Any) -> dict[str, bytes]:
    """All files of a loaded model (:class:`~genrekit.models.bundle.GenreModel`), sealed card included."""
    from genrekit.models.bundle import CARD_MEMBER

    files = {CARD_MEMBER: json.dumps(model.card, indent=2, sort_keys=True, ensure_ascii=False).encode()}
    for name in model.member_names:
        files[name] = model.member_bytes(name)
    return files


def _open_member(bundle: Any, index: int) -> Any:
    """Member ``index`` of an ensemble file as a verified :class:`~genrekit.models.bundle.GenreModel`."""
    from genrekit.models import bundle as bundle_mod

    prefix = f"{MEMBER_PREFIX}{index}/"
    where = f"{bundle.path} (member {index})"

    def fail(msg: str):
        raise ModelFileError(f"{where}: {msg}")

    files = {name[len(prefix):]: bundle.member_bytes(name) for name in bundle.member_names if name.startswith(prefix)}
    raw = files.pop(bundle_mod.CARD_MEMBER, None)
    if raw is None:
        fail("missing from the file")
    card = json.loads(raw.decode("utf-8"))
    if card.get("card_sha256") != bundle_mod._sha256(bundle_mod._canonical(card)):
        fail("card was modified after the member was saved (sha256 mismatch)")
    if set(card.get("members", {})) != set(files):
        fail("files differ from the member card's list")
    for name, data in files.items():
        if bundle_mod._sha256(data) != card["members"][name]:
            fail(f"{name} was modified after the member was saved (sha256 mismatch)")
    bundle_mod._check_card_fields(card, fail)
    bundle_mod._check_onnx_against_card(bundle_mod._onnx_io(files[card["onnx"]["member"]]), card, fail)
    return bundle_mod.GenreModel(Path(where), card, files)


# ----------------------------------------------------------------------------- the feature set


class EnsembleFeatureSet(FeatureSet):
    """Member probabilities of a window, ``(n_members * n_labels)`` columns.

    Built from loaded member models (:class:`~genrekit.models.bundle.GenreModel`);
    the ensemble's sample rate is the highest member rate, and each member
    gets the window resampled to its own.
    """

    name = "ensemble"
    version = "1"

    def __init__(self, members: Sequence[Any], labels: Sequence[str], names: Sequence[str]) -> None:
        from genrekit.predict import GenreClassifier

        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        self.labels = [str(label) for label in labels]
        self.names = list(names)
        self._models = list(members)
        self._classifiers = [GenreClassifier(m) for m in self._models]
        for name, c in zip(self.names, self._classifiers):
            if sorted(c.labels) != sorted(self.labels):
                raise ValueError(f"member {name} knows labels {sorted(c.labels)}, the ensemble {sorted(self.labels)}: "
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
        return {"members": [{"name": n, "card_sha256": m.card["card_sha256"]} for n, m in zip(self.names, self._models)],
                "labels": self.labels}

    def min_window(self) -> float:
        """The longest member window (seconds): shorter ensemble windows would be too short for that member."""
        return max((c.windowing.window or 0.0) for c in self._classifiers)

    def __getstate__(self) -> dict[str, Any]:  # the feature store's worker processes get the members' bytes
        return {"labels": self.labels, "names": self.names,
                "members": [(m.path, m.card, {n: m.member_bytes(n) for n in m.member_names}) for m in self._models]}

    def __setstate__(self, state: dict[str, Any]) -> None:
        from genrekit.models.bundle import GenreModel

        models = [GenreModel(Path(p), card, files) for p, card, files in state["members"]]
        self.__init__(models, state["labels"], state["names"])  # type: ignore[misc]

    def member_probabilities(self, y: np.ndarray, sr: int) -> np.ndarray:
        """``(n_members, n_labels)``: each member's aggregated verdict on the signal ``y`` (at ``sr`` Hz)."""
        from genrekit.audio import resample
        from genrekit.evaluation import aggregate_windows

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
            raise ValueError(f"{self.name} expects audio at {self.sample_rate} Hz, got {sr} Hz")
        return self.member_probabilities(y, sr).reshape(-1)


def ensemble_feature_set(bundle: Any) -> EnsembleFeatureSet:
    """The feature set of a loaded ensemble file (what :class:`~genrekit.predict.GenreClassifier` needs)."""
    info = bundle.card["model"]
    names = [m["name"] for m in info["members"]]
    members = [_open_member(bundle, i) for i in range(len(names))]
    fs = EnsembleFeatureSet(members, bundle.card["labels"], names)
    if fs.config() != bundle.card["feature_set"]:
        raise ModelFileError(f"{bundle.path}: the members differ from those the ensemble card records")
    return fs


def is_ensemble(card: dict[str, Any]) -> bool:
    return card.get("model", {}).get("kind") == KIND


# ----------------------------------------------------------------------------- the combiner


def combiner_onnx(weights: Sequence[float], n_labels: int, labels: Sequence[str]):
    """ONNX graph: ``features`` ``(N, M * L)`` -> reshape ``(N, M, L)`` -> weighted sum over M -> ``probabilities``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from genrekit.models.bundle import INPUT_NAME, OUTPUT_NAME

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
    from scipy.optimize import minimize

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
    from genrekit.evaluation import grouped_folds

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


# ----------------------------------------------------------------------------- training


def train_ensemble(source: Any, out: str | os.PathLike[str], members: Sequence[str | os.PathLike[str]], *,
                   weighting: str = "fit", window: float | None = 30.0, hop: float | None = None,
                   aggregation: str = "mean", cache_dir: str | os.PathLike[str] | None = None, jobs: int = 1,
                   progress: Any = None, oof_folds: int = 5, seed: int = 0,
                   card_extra: dict[str, Any] | None = None) -> Any:
    """Combine the model files ``members`` into one ensemble file at ``out``.

    ``weighting``: ``fit`` (on ``source``'s valid split, see the module docstring) or ``equal``.
    ``window``: the ensemble's analysis window in seconds (at least every member's window;
    ``None`` = whole files). Validation metrics are computed on the valid split when there is one;
    with ``fit``, also out of fold (``validation.out_of_fold``: up to ``oof_folds`` grouped
    folds shuffled by ``seed``, see :func:`out_of_fold_scores`).
    Returns a :class:`genrekit.training.TrainResult`.
    """
    from collections import Counter

    from genrekit.audio import Windowing
    from genrekit.models import bundle
    from genrekit.store import compute_features
    from genrekit.training import TrainResult, _headline, _load_records, prediction_fields, track_scores, validation_summary

    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; choose from {', '.join(WEIGHTINGS)}")
    if len(members) < 2:
        raise ValueError("an ensemble needs at least two member model files (--members A.genre B.genre ...)")
    if oof_folds < 2:
        raise ValueError(f"oof_folds must be >= 2, got {oof_folds}")
    models = [bundle.load_model(p) for p in members]
    for p, mdl in zip(members, models):
        if is_ensemble(mdl.card):
            raise ValueError(f"{p}: is itself an ensemble; list its members instead")
    names = [Path(p).stem for p in members]
    names = [f"{i}_{n}" for i, n in enumerate(names)]
    labels = list(models[0].labels)
    fs = EnsembleFeatureSet(models, labels, names)
    if window is not None and window < fs.min_window():
        raise ValueError(f"the ensemble window ({window} s) is shorter than a member's ({fs.min_window()} s)")
    windowing = Windowing(window=window, hop=hop)

    records = [r for r in _load_records(source) if r.label is not None]
    valid_records = [r for r in records if r.split == "valid" and str(r.label) in labels]
    weights = np.full(len(models), 1.0 / len(models))
    validation = None
    n_windows = 0
    failures: list[Any] = []
    if valid_records:
        table = compute_features(valid_records, fs, windowing, cache_dir=cache_dir, jobs=jobs, progress=progress)
        failures = list(table.failures)
        data = table.matrix()
        if not len(data):
            raise DatasetError(f"{source}: none of the {len(valid_records)} valid files could be scored by every member "
                               f"(first failure: {failures[0].message if failures else 'none'})")
        n_windows = len(data)
        blocks = data.X.astype(np.float64).reshape(len(data), len(models), len(labels))
        if weighting == "fit":
            track_ids, track_blocks = _track_blocks(blocks, data.paths, aggregation)
            truth = _track_truth(data)
            y_idx = np.array([labels.index(t) for t in truth])
            weights = fit_weights(track_blocks, y_idx)
            out_of_fold = _out_of_fold_summary(data, blocks, track_ids, track_blocks, y_idx, labels, aggregation,
                                               n_folds=oof_folds, seed=seed)
        probs = np.einsum("nml,m->nl", blocks, weights)
        probs /= probs.sum(axis=1, keepdims=True)
        track_metrics, _, window_metrics = track_scores(data, probs, labels, aggregation)
        member_scores = {}
        for i, n in enumerate(names):
            mt, _, _ = track_scores(data, blocks[:, i, :], labels, aggregation)
            member_scores[n] = _headline(mt)
        validation = validation_summary(
            track_metrics, window_metrics,
            note="weights were fit on this split: these figures are optimistic" if weighting == "fit" else "equal weights",
        ) | {"members": member_scores}
        if weighting == "fit":
            validation["out_of_fold"] = out_of_fold
    elif weighting == "fit":
        raise DatasetError(f"{source}: no valid split to fit the ensemble weights on; use equal weighting")

    proto = combiner_onnx(weights, len(labels), labels)
    extra: dict[str, bytes] = {}
    for i, mdl in enumerate(models):
        for name, data_bytes in member_files(mdl).items():
            extra[f"{MEMBER_PREFIX}{i}/{name}"] = data_bytes
    card = {
        **prediction_fields(labels, fs, windowing, aggregation),
        "model": {"kind": KIND, "weighting": weighting,
                  "weights_fit_on": "valid split, track-level log loss" if weighting == "fit" else None,
                  "members": [{"name": n, "file": str(p), "kind": mdl.card["model"].get("kind"),
                               "feature_set": mdl.card["feature_set"].get("name"), "weight": float(w),
                               "card_sha256": mdl.card["card_sha256"]}
                              for n, p, mdl, w in zip(names, members, models, weights)]},
        "training": {"source": str(source) if isinstance(source, (str, os.PathLike)) else "records",
                     "split": "valid (weights only)" if weighting == "fit" else "none",
                     "n_tracks": len({r.path for r in valid_records}),
                     "tracks_per_label": dict(sorted(Counter(str(r.label) for r in valid_records).items())),
                     "n_windows": n_windows, "failed_files": len(failures)},
        "validation": validation or {"split": "none", "note": "no valid split: nothing was measured"},
        **(card_extra or {}),
    }
    path = bundle.save_model(out, proto, card, extra_members=extra)
    return TrainResult(path=Path(path), card=bundle.read_card(path), validation=validation, failures=failures)


def _track_blocks(blocks: np.ndarray, paths: np.ndarray, aggregation: str) -> tuple[np.ndarray, np.ndarray]:
    from genrekit.evaluation import aggregate_windows

    n, m, n_labels = blocks.shape
    per_member = [aggregate_windows(blocks[:, i, :], paths, method=aggregation) for i in range(m)]
    return per_member[0][0], np.stack([p for _, p in per_member], axis=1)


def _out_of_fold_summary(data: Any, blocks: np.ndarray, track_ids: np.ndarray, track_blocks: np.ndarray,
                         y: np.ndarray, labels: Sequence[str], aggregation: str, *, n_folds: int,
                         seed: int) -> dict[str, Any]:
    """The card's ``validation.out_of_fold``: track metrics with each track's weights fit without its fold.

    Each fold's weights are applied to its tracks' windows, which are then
    aggregated and scored exactly as the full-split figures are (:func:`genrekit.training.track_scores`).
    """
    from genrekit.training import _headline, track_scores

    group_of = dict(zip(data.paths, data.groups))
    groups = np.array([str(group_of[t]) for t in track_ids], dtype=object)
    k, why = n_out_of_fold(np.asarray(labels, dtype=object)[y], groups, n_folds)  # label names in the reason
    if k < 2:
        return {"skipped": f"{why} (grouped_by: group)"}
    oof = out_of_fold_scores(track_blocks, y, groups, n_folds=k, seed=seed)
    row_of = {t: i for i, t in enumerate(track_ids)}
    window_weights = oof.weights[oof.fold[[row_of[p] for p in data.paths]]]  # (n_windows, M)
    probs = np.einsum("nml,nm->nl", blocks, window_weights)
    probs /= probs.sum(axis=1, keepdims=True)
    track_metrics, _, _ = track_scores(data, probs, labels, aggregation)
    summary = {"folds": k, "grouped_by": "group", "seed": seed, "level": "track",
               "metrics": _headline(track_metrics),
               "weights_per_fold": [[float(w) for w in ws] for ws in oof.weights],
               "note": "weights fit on the other folds of the valid split; members' own choices "
                       "(e.g. a CNN's epoch) were still made on this split"}
    return summary | ({"folds_reduced": why} if why else {})


def _track_truth(data: Any) -> list[str]:
    from genrekit.evaluation import aggregate_windows

    ids, _ = aggregate_windows(np.ones((len(data), 1)), data.paths)
    truth = dict(zip(data.paths, data.labels))
    return [str(truth[t]) for t in ids]


__all__ = ["EnsembleFeatureSet", "OutOfFold", "combiner_onnx", "ensemble_feature_set", "fit_weights", "is_ensemble",
           "member_files", "n_out_of_fold", "out_of_fold_scores", "train_ensemble"]
