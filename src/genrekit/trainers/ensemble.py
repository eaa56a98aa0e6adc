"""Ensembles: weights over several model files, fit on the valid split (see :mod:`genrekit.models.ensemble`).

The members are stored whole inside the ensemble file; their verdicts on
the valid tracks are the ensemble's features, computed through the feature
store like any feature set's, and the weights are fit on them. How well
the weight fitting generalises is measured out of fold
(``validation.out_of_fold``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from genrekit.audio import Windowing
from genrekit.errors import ConfigError, DatasetError
from genrekit.evaluation import aggregate_windows, track_scores
from genrekit.models import bundle
from genrekit.models.card import ModelCard, ModelInfo, TrainingSummary, ValidationSummary, headline
from genrekit.models.ensemble import (
    KIND,
    WEIGHTINGS,
    EnsembleFeatureSet,
    combiner_onnx,
    fit_weights,
    n_out_of_fold,
    out_of_fold_scores,
)
from genrekit.predict import classifier_for
from genrekit.store import FeatureMatrix, compute_features
from genrekit.trainers.base import RunOptions, Source, TrainResult, load_records


@dataclass(frozen=True)
class EnsembleConfig:
    """Settings of an ensemble.

    ``members``: two or more model files (not ensembles themselves), sharing
    their labels. ``weighting``: ``fit`` (non-negative weights summing to 1,
    minimising the valid split's track-level log loss) or ``equal``.
    ``window``/``hop``: the ensemble's analysis windows in seconds (at least
    every member's window; ``None``: whole files), combined per track by
    ``aggregation``. ``oof_folds`` grouped folds (shuffled by ``seed``)
    measure the weight fitting out of fold.
    """

    members: tuple[str, ...] = ()
    weighting: str = "fit"
    window: float | None = None
    hop: float | None = None
    aggregation: str = "mean"
    oof_folds: int = 5
    seed: int = 0


class EnsembleTrainer:
    kind = KIND
    config_type: ClassVar[type] = EnsembleConfig

    def train(self, source: Source, out: Path, config: EnsembleConfig, run: RunOptions) -> TrainResult:
        cfg = config
        if cfg.weighting not in WEIGHTINGS:
            raise ConfigError(f"unknown weighting {cfg.weighting!r}; choose from {', '.join(WEIGHTINGS)}")
        if len(cfg.members) < 2:
            raise ConfigError("an ensemble needs at least two member model files (--members A.genre B.genre ...)")
        if cfg.oof_folds < 2:
            raise ConfigError(f"oof_folds must be >= 2, got {cfg.oof_folds}")
        models = [bundle.load_model(p) for p in cfg.members]
        for p, mdl in zip(cfg.members, models):
            if mdl.embedded_models():
                raise ConfigError(f"{p}: is itself an ensemble; list its members instead")
        names = [f"{i}_{Path(p).stem}" for i, p in enumerate(cfg.members)]
        labels = list(models[0].labels)
        fs = EnsembleFeatureSet([classifier_for(m) for m in models], labels, names)
        if cfg.window is not None and cfg.window < fs.min_window():
            raise ConfigError(f"the ensemble window ({cfg.window} s) is shorter than a member's ({fs.min_window()} s)")
        windowing = Windowing(window=cfg.window, hop=cfg.hop)

        records = [r for r in load_records(source) if r.label is not None]
        valid_records = [r for r in records if r.split == "valid" and str(r.label) in labels]
        if not valid_records and cfg.weighting == "fit":
            raise DatasetError(f"{source}: no valid split to fit the ensemble weights on; use equal weighting")
        weights = np.full(len(models), 1.0 / len(models))
        data, failures, out_of_fold = None, [], None
        if valid_records:
            table = compute_features(valid_records, fs, windowing, cache_dir=run.cache_dir, jobs=run.jobs,
                                     progress=run.progress)
            failures = list(table.failures)
            data = table.matrix()
            if not len(data):
                raise DatasetError(f"{source}: none of the {len(valid_records)} valid files could be scored by every "
                                   f"member (first failure: {failures[0].message if failures else 'none'})")
            blocks = data.X.astype(np.float64).reshape(len(data), len(models), len(labels))
            if cfg.weighting == "fit":
                track_ids, track_blocks = _track_blocks(blocks, data.paths, cfg.aggregation)
                y_idx = np.array([labels.index(t) for t in _track_truth(data)])
                weights = fit_weights(track_blocks, y_idx)
                out_of_fold = _out_of_fold_summary(data, blocks, track_ids, track_blocks, y_idx, labels,
                                                   cfg.aggregation, n_folds=cfg.oof_folds, seed=cfg.seed)

        extra = {f"{bundle.EMBEDDED_PREFIX}{i}/{name}": data_bytes
                 for i, mdl in enumerate(models) for name, data_bytes in mdl.files().items()}
        model_bytes = combiner_onnx(weights, len(labels), labels).SerializeToString()
        fitted = cfg.weighting == "fit"
        card = ModelCard.build(
            labels=labels, feature_set=fs, windowing=windowing, aggregation=cfg.aggregation,
            model=ModelInfo(KIND, {
                "weighting": cfg.weighting, "weights_fit_on": "valid split, track-level log loss" if fitted else None,
                "members": [{"name": n, "file": str(p), "kind": m.card.kind, "feature_set": m.card.feature_set.name,
                             "weight": float(w), "card_sha256": m.card.card_sha256}
                            for n, p, m, w in zip(names, cfg.members, models, weights)]}),
            training=TrainingSummary.of(source, valid_records, split="valid (weights only)" if fitted else "none",
                                        n_windows=len(data) if data is not None else 0, failed_files=len(failures)),
            validation=ValidationSummary.nothing_held_out("no valid split: nothing was measured"),
            extra=run.card_extra)
        validation = None
        if data is not None:
            probs = bundle.draft_model(card, model_bytes, extra).predict_proba(data.X)
            track_metrics, _, window_metrics = track_scores(data, probs, labels, cfg.aggregation)
            member_scores = {n: headline(track_scores(data, blocks[:, i, :], labels, cfg.aggregation)[0])
                             for i, n in enumerate(names)}
            note = "weights were fit on this split: these figures are optimistic" if fitted else "equal weights"
            summary = ValidationSummary.of(track_metrics, window_metrics, note=note, members=member_scores)
            if out_of_fold is not None:
                summary = summary.with_extra(out_of_fold=out_of_fold)
            card = replace(card, validation=summary)
            validation = summary.to_json()
        path = bundle.save_model(out, model_bytes, card, extra_members=extra)
        return TrainResult(path=path, card=bundle.read_card(path), validation=validation, failures=failures)


def _track_blocks(blocks: np.ndarray, paths: np.ndarray, aggregation: str) -> tuple[np.ndarray, np.ndarray]:
    """Per track, each member's aggregated probabilities: ``(track_ids, (n_tracks, M, L))``."""
    per_member = [aggregate_windows(blocks[:, i, :], paths, method=aggregation) for i in range(blocks.shape[1])]
    return per_member[0][0], np.stack([p for _, p in per_member], axis=1)


def _out_of_fold_summary(data: FeatureMatrix, blocks: np.ndarray, track_ids: np.ndarray, track_blocks: np.ndarray,
                         y: np.ndarray, labels: Sequence[str], aggregation: str, *, n_folds: int,
                         seed: int) -> dict[str, Any]:
    """The card's ``validation.out_of_fold``: track metrics with each track's weights fit without its fold.

    Each fold's weights are applied to its tracks' windows, which are then
    aggregated and scored exactly as the full-split figures are
    (:func:`genrekit.evaluation.track_scores`).
    """
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
               "metrics": headline(track_metrics),
               "weights_per_fold": [[float(w) for w in ws] for ws in oof.weights],
               "note": "weights fit on the other folds of the valid split; members' own choices "
                       "(e.g. a CNN's epoch) were still made on this split"}
    return summary | ({"folds_reduced": why} if why else {})


def _track_truth(data: FeatureMatrix) -> list[str]:
    ids, _ = aggregate_windows(np.ones((len(data), 1)), data.paths)
    truth = dict(zip(data.paths, data.labels))
    return [str(truth[t]) for t in ids]


__all__ = ["EnsembleConfig", "EnsembleTrainer"]
