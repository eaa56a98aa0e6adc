"""Classic models: a scikit-learn pipeline (scaler + SVM, random forest, ...) on pooled feature vectors.

Features come from the cached feature store, so training several models on
one collection decodes each file once. The pipeline is exported to ONNX,
checked against scikit-learn, and scored on the valid split's whole tracks
through the model file's own inference path.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from genrekit.audio import Windowing
from genrekit.errors import ConfigError, DatasetError
from genrekit.evaluation import track_scores
from genrekit.features import get_feature_set
from genrekit.models import bundle, classic, tag_prior
from genrekit.models.card import ModelCard, ModelInfo, TrainingSummary, ValidationSummary
from genrekit.store import compute_features
from genrekit.trainers.base import (
    RunOptions,
    Source,
    TrainResult,
    check_labels,
    split_for_training,
    training_split_name,
)

ESTIMATORS = classic.MODELS
"""The classic model kinds: ``svm``, ``rf``, ``logreg``, ``knn``, ``gbm``."""


@dataclass(frozen=True)
class ClassicConfig:
    """Settings of a classic model (the kind, ``svm`` and friends, names the estimator).

    ``feature_set`` (``+`` combines sets) with ``feature_options``; windows of
    ``window`` seconds every ``hop`` seconds (``window=None``: one vector per
    file; ``hop=None``: no overlap), their probabilities combined per track by
    ``aggregation`` (``mean``, ``logmean``, ``vote``). ``params`` go to the
    estimator; ``search`` tunes them first by grouped cross-validation on
    the training rows. ``calibrate``: wrap the estimator in grouped sigmoid
    calibration (``None``: the measured default, every kind but ``rf``;
    ``False`` keeps the estimator's own probabilities, which a temperature
    can still calibrate without moving any verdict: on musicnn embeddings the
    sigmoid calibrators cost linear probes several points of balanced
    accuracy; docs/results.md, "Two-way yardstick"). ``tag_prior``: the estimator reads every column
    but the tag scores, and musicnn's genre tags add a zero-shot prior to its verdict, weighted by grouped
    cross-validation (:mod:`genrekit.models.tag_prior`; needs taggram columns, e.g. ``--set musicnn_tags``), or
    ``prior_weight`` when given.
    ``use_all`` trains on every file, ignoring the collection's splits (nothing is validated). ``seed`` seeds
    everything random.
    """

    feature_set: str = "default"
    feature_options: dict[str, Any] = field(default_factory=dict)
    window: float | None = 30.0
    hop: float | None = None
    aggregation: str = "mean"
    params: dict[str, Any] = field(default_factory=dict)
    search: bool = False
    calibrate: bool | None = None
    tag_prior: bool = False
    prior_weight: float | None = None
    seed: int = 0
    use_all: bool = False


class ClassicTrainer:
    """Trains one scikit-learn estimator kind (``kind`` in :data:`ESTIMATORS`)."""

    config_type: ClassVar[type] = ClassicConfig

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def train(self, source: Source, out: Path, config: ClassicConfig, run: RunOptions) -> TrainResult:
        if config.prior_weight is not None and not config.tag_prior:
            raise ConfigError("a prior weight is for a model with a tag prior (tag_prior=True, --tag-prior)")
        train_records, valid_records = split_for_training(source, use_all=config.use_all)
        fs = get_feature_set(config.feature_set, **config.feature_options)
        windowing = Windowing(window=config.window, hop=config.hop)
        table = compute_features([*train_records, *valid_records], fs, windowing, cache_dir=run.cache_dir,
                                 jobs=run.jobs, progress=run.progress)
        data = table.matrix()
        train_paths = {r.path for r in train_records}
        is_train = np.array([p in train_paths for p in data.paths], dtype=bool)
        tr, va = data.select(is_train), data.select(~is_train)
        if len(tr) == 0:
            raise DatasetError(f"{source}: none of the training files could be read")
        y = np.array([str(v) for v in tr.labels])
        check_labels(source, list(y))

        search_info = None
        found = None
        prior_info = None
        pipeline = classic.build_pipeline(self.kind, random_state=config.seed, calibrate=config.calibrate,
                                          **config.params)
        check_rows = tr.X[: min(len(tr), 500)]
        if config.tag_prior:
            fitted = tag_prior.fit(pipeline, tr.X, y, tr.groups, data.columns, search=config.search,
                                   seed=config.seed, weight=config.prior_weight)
            pipeline, found, prior_info = fitted.pipeline, fitted.search, fitted.prior.describe()
            model_bytes = fitted.export()
            fitted.check(model_bytes, check_rows)
        else:
            if config.search:
                found = classic.search(pipeline, tr.X, y, tr.groups, seed=config.seed, grid=None)
                pipeline = found.pipeline
            else:
                classic.fit_pipeline(pipeline, tr.X, y, tr.groups, seed=config.seed)
            onnx_model = bundle.export_pipeline(pipeline, tr.X.shape[1])
            bundle.check_export(onnx_model, pipeline, check_rows)
            model_bytes = onnx_model.SerializeToString()
        if found is not None:
            search_info = {"best_params": found.best_params, "cv_balanced_accuracy": found.best_score,
                           "folds": len(found.splits), "grouped_by": "track"}
        labels = classic.pipeline_labels(pipeline)

        read = set(tr.paths)
        card = ModelCard.build(
            labels=labels, feature_set=fs, windowing=windowing, aggregation=config.aggregation,
            model=ModelInfo(self.kind, {**classic.describe_pipeline(pipeline), "seed": config.seed,
                                        "search": search_info,
                                        **({"tag_prior": prior_info} if prior_info else {})}),
            training=TrainingSummary.of(source, [r for r in train_records if r.path in read],
                                        split=training_split_name(train_records, valid_records, config.use_all),
                                        n_windows=len(tr), failed_files=len(table.failures)),
            validation=None, extra=run.card_extra)
        if len(va):
            probs = bundle.draft_model(card, model_bytes).predict_proba(va.X)
            track_metrics, _, window_metrics = track_scores(va, probs, labels, config.aggregation)
            card = replace(card, validation=ValidationSummary.of(track_metrics, window_metrics))
        path = bundle.save_model(out, model_bytes, card)
        saved = bundle.read_card(path)
        return TrainResult(path=path, card=saved, validation=saved.validation.to_json() if len(va) else None,
                           search=search_info, failures=list(table.failures))


__all__ = ["ClassicConfig", "ClassicTrainer", "ESTIMATORS"]
