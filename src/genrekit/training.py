"""Train a model file from a labelled collection, and evaluate one on a collection.

These are the library functions behind ``genrekit train`` and ``genrekit
evaluate`` (exported as :func:`genrekit.train` and :func:`genrekit.evaluate`).
Features come from the cached feature store, so training several models on
one collection decodes each file once. Validation and evaluation score whole
tracks (window probabilities aggregated the way the model will predict), on
splits that never share a track (or artist) with the training data.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from genrekit.audio import Windowing
from genrekit.errors import DatasetError

HEADLINE_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "log_loss", "ece")


@dataclass
class TrainResult:
    """What :func:`train` produced: the model file, its card and the validation scores."""

    path: Path
    card: dict[str, Any]
    validation: dict[str, Any] | None
    search: dict[str, Any] | None = None
    failures: list[Any] = field(default_factory=list)


@dataclass
class EvaluationResult:
    """Track-level metrics of a model on a collection, plus each track's verdict."""

    metrics: dict[str, Any]
    split: str
    tracks: list[dict[str, Any]]
    window_metrics: dict[str, Any] | None
    failures: list[Any] = field(default_factory=list)


def _load_records(source: str | os.PathLike[str] | Sequence[Any]) -> list[Any]:
    from genrekit.datasets import load_dataset

    if isinstance(source, (str, os.PathLike)):
        return load_dataset(source)
    return list(source)


def select_split(records: Sequence[Any], split: str) -> list[Any]:
    """Records of ``split`` (``train``, ``valid``, ``test``) or every record for ``all``."""
    if split == "all":
        return list(records)
    chosen = [r for r in records if r.split == split]
    if not chosen:
        have = sorted({str(r.split) for r in records})
        raise DatasetError(f"no records in split {split!r} (splits present: {', '.join(have)}); use --split all")
    return chosen


def track_scores(
    matrix: Any, window_probs: np.ndarray, labels: Sequence[str], aggregation: str
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """Aggregate window probabilities to tracks and score both levels.

    Returns ``(track_metrics, per_track_rows, window_metrics)``.
    """
    from genrekit.evaluation import aggregate_windows, classification_metrics

    track_ids, track_probs = aggregate_windows(window_probs, matrix.paths, method=aggregation)
    truth_by_path = dict(zip(matrix.paths, matrix.labels))
    truth = [truth_by_path[t] for t in track_ids]
    track_metrics = classification_metrics(truth, track_probs, labels)
    window_metrics = classification_metrics(list(matrix.labels), window_probs, labels)
    rows = [
        {
            "path": str(t),
            "label": str(y),
            "genre": labels[int(np.argmax(p))],
            "confidence": float(np.max(p)),
        }
        for t, y, p in zip(track_ids, truth, track_probs)
    ]
    return track_metrics, rows, window_metrics


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in HEADLINE_METRICS if k in metrics} | {"n_tracks": metrics.get("n_samples")}


def prediction_fields(labels: Sequence[str], feature_set: Any, windowing: Windowing, aggregation: str) -> dict[str, Any]:
    """The card entries prediction reads: labels, feature set and its columns, windowing, aggregation.

    Every kind of model (classic, CNN, ensemble) writes them through here, so
    :class:`genrekit.predict.GenreClassifier` can load any of them alike.
    """
    return {
        "labels": list(labels),
        "feature_set": feature_set.config(),
        "columns": feature_set.column_names,
        "windowing": windowing.as_dict(),
        "aggregation": aggregation,
    }


def source_name(source: Any) -> str:
    """How a card names the collection a model was trained on."""
    return str(source) if isinstance(source, (str, os.PathLike)) else "records"


def validation_summary(track_metrics: dict[str, Any], window_metrics: dict[str, Any], note: str | None = None) -> dict[str, Any]:
    """The ``validation`` entry of a model card: valid-split scores per track, headline per window."""
    summary = {
        "split": "valid",
        "level": "track",
        "metrics": _headline(track_metrics),
        "per_class": track_metrics["per_class"],
        "confusion": track_metrics["confusion"],
        "window_metrics": _headline(window_metrics),
    }
    return summary | ({"note": note} if note else {})


def split_for_training(source: str | os.PathLike[str] | Sequence[Any], *, use_all: bool = False) -> tuple[list[Any], list[Any]]:
    """The labelled records of ``source`` as ``(train, valid)``.

    A collection without a train split, or ``use_all``, trains on everything
    and validates on nothing. Raises :class:`DatasetError` when there is
    nothing labelled, or when a group (track or artist) sits on both sides.
    """
    from genrekit.errors import GroupLeakError
    from genrekit.evaluation import assert_no_group_leak

    records = [r for r in _load_records(source) if r.label is not None]
    if not records:
        raise DatasetError(f"{source}: no labelled audio files found")
    if use_all or not any(r.split == "train" for r in records):
        return records, []
    train_records = [r for r in records if r.split == "train"]
    valid_records = [r for r in records if r.split == "valid"]
    try:
        assert_no_group_leak([r.group for r in train_records], [r.group for r in valid_records])
    except GroupLeakError as error:
        raise DatasetError(f"{source}: the train and valid splits share groups (tracks or artists): {error}") from None
    return train_records, valid_records


def train(
    source: str | os.PathLike[str] | Sequence[Any],
    out: str | os.PathLike[str],
    *,
    feature_set: str = "default",
    feature_options: dict[str, Any] | None = None,
    model: str = "svm",
    params: dict[str, Any] | None = None,
    window: float | None = 30.0,
    hop: float | None = None,
    aggregation: str = "mean",
    search: bool = False,
    use_all: bool = False,
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    progress: Callable[[Any], None] | None = None,
    card_extra: dict[str, Any] | None = None,
    init: str = "scratch",
    epochs: int | None = None,
    members: Sequence[str | os.PathLike[str]] | None = None,
    cnn_config: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``model`` on ``feature_set`` features of ``source`` and write a ``.genre`` file to ``out``.

    Trains on the collection's ``train`` split and scores the ``valid`` split
    (whole tracks) when the collection has them; ``use_all`` trains on
    everything (no validation). ``search`` tunes hyper-parameters first by
    grouped cross-validation on the training rows. ``card_extra`` adds keys to
    the model card (e.g. why this model was chosen).

    ``model="cnn"`` trains a spectrogram CNN with torch instead (``init``
    ``scratch`` or ``musicnn``, ``epochs``, ``cnn_config``; its feature set and
    window come from ``init``, ``hop`` sets the prediction hop; ``progress``
    gets :class:`~genrekit.models.cnn.train.CNNProgress`). ``model="ensemble"``
    combines the model files ``members`` (weights fit on the valid split).
    """
    if model == "cnn":
        from genrekit.models.cnn import train_cnn

        return train_cnn(source, out, init=init, epochs=epochs, seed=seed, hop=hop, aggregation=aggregation,
                         use_all=use_all, config=cnn_config, progress=progress, card_extra=card_extra)
    if model == "ensemble":
        from genrekit.models.ensemble import train_ensemble

        return train_ensemble(source, out, list(members or []), window=window, hop=hop, aggregation=aggregation,
                              cache_dir=cache_dir, jobs=jobs, progress=progress, seed=seed, card_extra=card_extra)
    from genrekit.features import get_feature_set
    from genrekit.models import bundle, classic
    from genrekit.store import compute_features

    train_records, valid_records = split_for_training(source, use_all=use_all)
    has_splits = bool(valid_records) or any(r.split == "train" for r in train_records)

    fs = get_feature_set(feature_set, **(feature_options or {}))
    windowing = Windowing(window=window, hop=hop)
    table = compute_features(
        [*train_records, *valid_records], fs, windowing, cache_dir=cache_dir, jobs=jobs, progress=progress
    )
    data = table.matrix()
    train_paths = {r.path for r in train_records}
    is_train = np.array([p in train_paths for p in data.paths], dtype=bool)
    tr, va = data.select(is_train), data.select(~is_train)
    if len(tr) == 0:
        raise DatasetError(f"{source}: none of the training files could be read")
    y = np.array([str(v) for v in tr.labels])
    if len(set(y)) < 2:
        raise DatasetError(f"{source}: training needs at least two labels, found {sorted(set(y))}")

    search_info = None
    if search:
        found = classic.search(model, tr.X, y, tr.groups, seed=seed, grid=None)
        pipeline = found.pipeline
        search_info = {"best_params": found.best_params, "cv_balanced_accuracy": found.best_score,
                       "folds": len(found.splits), "grouped_by": "track"}
    else:
        pipeline = classic.build_pipeline(model, random_state=seed, **(params or {}))
        classic.fit_pipeline(pipeline, tr.X, y, tr.groups, seed=seed)

    onnx_model = bundle.export_pipeline(pipeline, tr.X.shape[1])
    bundle.check_export(onnx_model, pipeline, tr.X[: min(len(tr), 500)])
    labels = classic.pipeline_labels(pipeline)

    validation = None
    if len(va):
        import onnxruntime as ort

        session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
        probs = session.run([bundle.OUTPUT_NAME], {bundle.INPUT_NAME: va.X})[0]
        track_metrics, _, window_metrics = track_scores(va, probs, labels, aggregation)
        validation = validation_summary(track_metrics, window_metrics)

    card = {
        **prediction_fields(labels, fs, windowing, aggregation),
        "model": {"kind": model, **classic.describe_pipeline(pipeline), "seed": seed, "search": search_info},
        "training": {
            "source": source_name(source),
            "split": "all" if (use_all or not has_splits) else "train",
            "tracks_per_label": dict(sorted(Counter(str(r.label) for r in train_records).items())),
            "n_tracks": len(set(tr.paths)),
            "n_windows": int(len(tr)),
            "failed_files": len(table.failures),
        },
        "validation": validation or {"split": "none", "note": "trained on every file: nothing was held out"},
        **(card_extra or {}),
    }
    path = bundle.save_model(out, onnx_model, card)
    return TrainResult(path=Path(path), card=bundle.read_card(path), validation=validation, search=search_info,
                       failures=list(table.failures))


def evaluate(
    model: str | os.PathLike[str] | None,
    source: str | os.PathLike[str] | Sequence[Any],
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
    from genrekit.predict import load_model
    from genrekit.store import compute_features

    classifier = load_model(model)
    records = select_split([r for r in _load_records(source) if r.label is not None], split)
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
