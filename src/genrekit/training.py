"""Train a model file from a labelled collection, and score one on a collection.

These are the library functions behind ``genrekit train`` and ``genrekit
evaluate`` (exported as :func:`genrekit.train` and :func:`genrekit.evaluate`).
:func:`train` dispatches to the model kind's trainer (:mod:`genrekit.trainers`)
with its typed config; :func:`evaluate` scores whole tracks through the
model file's own prediction path, on splits that never share a track (or
artist) with the training data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from genrekit.datasets import Record
from genrekit.errors import DatasetError
from genrekit.evaluation import track_scores
from genrekit.predict import load_model
from genrekit.store import compute_features
from genrekit.trainers import RunOptions, TrainResult, get_trainer
from genrekit.trainers.base import Source, load_records, make_config

SPLITS = ("train", "valid", "test", "all")


@dataclass
class EvaluationResult:
    """Track-level metrics of a model on a collection, plus each track's verdict."""

    metrics: dict[str, Any]
    split: str
    tracks: list[dict[str, Any]]
    window_metrics: dict[str, Any] | None
    failures: list[Any] = field(default_factory=list)


def train(
    source: Source,
    out: str | os.PathLike[str],
    kind: str = "svm",
    config: Any = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    progress: Callable[[Any], None] | None = None,
    card_extra: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Train a ``kind`` model on ``source`` and write a ``.genre`` file to ``out``.

    ``kind``: a classic estimator (``svm``, ``rf``, ``logreg``, ``knn``,
    ``gbm``), ``cnn`` or ``ensemble``; ``config``: that kind's config
    (:class:`~genrekit.trainers.ClassicConfig`, :class:`~genrekit.trainers.CNNConfig`,
    :class:`~genrekit.trainers.EnsembleConfig`), a mapping of its fields, or
    None for its defaults. Trains on the collection's ``train`` split and
    scores its ``valid`` split (whole tracks) when it has them. The keyword
    arguments say how to run, the same for every kind (:class:`~genrekit.trainers.RunOptions`).
    """
    trainer = get_trainer(kind)
    typed = make_config(trainer.config_type, config, kind)
    run = RunOptions(cache_dir=cache_dir, jobs=jobs, progress=progress, card_extra=dict(card_extra or {}))
    return trainer.train(source, Path(out), typed, run)


def select_split(records: list[Record], split: str) -> list[Record]:
    """Records of ``split`` (``train``, ``valid``, ``test``) or every record for ``all``."""
    if split == "all":
        return list(records)
    chosen = [r for r in records if r.split == split]
    if not chosen:
        have = sorted({str(r.split) for r in records})
        raise DatasetError(f"no records in split {split!r} (splits present: {', '.join(have)}); use --split all")
    return chosen


def evaluate(
    model: str | os.PathLike[str] | None,
    source: Source,
    *,
    split: str = "valid",
    cache_dir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    progress: Callable[[Any], None] | None = None,
) -> EvaluationResult:
    """Score a model file on the ``split`` records of ``source`` (``all`` for every record).

    Files the model's labels do not cover raise :class:`DatasetError`: a model
    cannot be scored on genres it never learned.
    """
    classifier = load_model(model)
    records = select_split([r for r in load_records(source) if r.label is not None], split)
    unknown = sorted({str(r.label) for r in records} - set(classifier.labels))
    if unknown:
        raise DatasetError(f"labels the model does not know: {', '.join(unknown)} (it knows {', '.join(classifier.labels)})")
    table = compute_features(
        records, classifier.feature_set, classifier.windowing, cache_dir=cache_dir, jobs=jobs, progress=progress
    )
    data = table.matrix()
    if len(data) == 0:
        raise DatasetError(f"{source}: none of the {len(records)} files of split {split!r} could be read")
    probs = classifier.bundle.predict_proba(data.X)
    track_metrics, rows, window_metrics = track_scores(data, probs, classifier.labels, classifier.aggregation)
    return EvaluationResult(
        metrics=track_metrics, split=split, tracks=rows, window_metrics=window_metrics, failures=list(table.failures)
    )


__all__ = ["EvaluationResult", "SPLITS", "TrainResult", "evaluate", "select_split", "train"]
