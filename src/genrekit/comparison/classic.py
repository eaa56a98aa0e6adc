"""Every classical model x feature set x windowing, trained on a collection's train split and scored on its valid split.

Each cell is trained by :func:`genrekit.training.train` itself, so what is
compared is exactly what ``genrekit train`` would write, scored per track
(window probabilities aggregated) on a split that shares no track or artist
with the training data. Features are computed once per feature set and
windowing into genrekit's feature cache; the models then read them from it.

A row's ``fit_seconds`` is the whole ``train`` call on cached features (fit,
ONNX export and its check, valid scoring); ``model_mb`` is the ``.genre``
file (compressed), as CNN and ensemble records give theirs;
``extract_ms_per_30s_clip`` is the feature extraction alone (decoding
excluded), the part of a prediction's cost a classical model adds.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from genrekit.comparison.configuration import Configuration, train_configuration, window_label

FEATURE_SETS = ("seed", "gtzan57", "default", "musicnn", "default+musicnn")
WINDOWS = (30.0, 3.0)
LEAK_DEMO = ("default", 3.0, "logreg")
"""Feature set, window and model of the leakage demonstration."""
SECTION = "compare_models"
"""The section of the results page the table goes in (:func:`genrekit.comparison.page.write_section`)."""


def default_models() -> tuple[str, ...]:
    """Every classical estimator genrekit trains."""
    from genrekit.trainers import ESTIMATORS

    return tuple(ESTIMATORS)


@dataclass
class Comparison:
    """The rows (one per cell), the leakage demonstration (empty if its cell was not run), and the split sizes."""

    rows: list[dict[str, Any]]
    n_train_tracks: int
    n_valid_tracks: int
    leaks: dict[str, Any] = field(default_factory=dict)


def extraction_ms(feature_set: Any, records: Sequence[Any], n: int = 5) -> float:
    """Median milliseconds to extract one clip's features (decoding excluded), over the first ``n`` records."""
    from genrekit.audio import load_audio

    times = []
    for r in records[:n]:
        y = load_audio(r.path, sr=feature_set.sample_rate)
        started = time.perf_counter()
        feature_set.extract(y, feature_set.sample_rate)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def leak_demo(data: Any, model: str) -> dict[str, dict[str, float]]:
    """Window-level scores of one uncalibrated model under three protocols, on train + valid together.

    Random 5-fold CV over windows (the common mistake: windows of one track
    land on both sides), 5-fold CV grouped by track, and the artist-disjoint
    train -> valid split: how much a leaky protocol would have flattered it.
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    from genrekit.models import classic

    y = np.array([str(v) for v in data.labels])
    protocols = {
        "random 5-fold CV over windows": StratifiedKFold(5, shuffle=True, random_state=0).split(data.X, y),
        "5-fold CV grouped by track": StratifiedGroupKFold(5, shuffle=True, random_state=0).split(data.X, y, data.groups),
        "artist-disjoint train -> valid": [(np.flatnonzero(data.splits == "train"), np.flatnonzero(data.splits == "valid"))],
    }
    out = {}
    for name, folds in protocols.items():
        truth, pred = [], []
        for train_idx, test_idx in folds:
            pipeline = classic.build_pipeline(model, random_state=0, calibrate=False)
            pipeline.fit(data.X[train_idx], y[train_idx])
            truth += list(y[test_idx])
            pred += list(pipeline.predict(data.X[test_idx]))
        out[name] = {"accuracy": accuracy_score(truth, pred), "balanced_accuracy": balanced_accuracy_score(truth, pred)}
    return out


def _row(configuration: Configuration, source: str | os.PathLike[str], folder: Path, extract_ms: float,
         cache_dir: str | os.PathLike[str] | None, jobs: int) -> dict[str, Any]:
    """Train one cell and read its row off the model file and its card."""
    started = time.perf_counter()
    result = train_configuration(configuration, source, folder / "model.genre", seed=0, cache_dir=cache_dir, jobs=jobs)
    seconds = time.perf_counter() - started
    card = result.card.to_json()
    track, window = card["validation"]["metrics"], card["validation"]["window_metrics"]
    return {
        "feature_set": configuration.feature_set, "window": window_label(configuration.window),
        "model": configuration.kind,
        "accuracy": track["accuracy"], "balanced_accuracy": track["balanced_accuracy"],
        "macro_f1": track["macro_f1"], "log_loss": track["log_loss"], "ece": track["ece"],
        "window_balanced_accuracy": window["balanced_accuracy"],
        "n_train_windows": card["training"]["n_windows"], "n_valid_tracks": track["n_tracks"],
        "fit_seconds": round(seconds, 2), "extract_ms_per_30s_clip": round(extract_ms, 1),
        "model_mb": round(Path(result.path).stat().st_size / 1e6, 2),
    }


def compare(
    source: str | os.PathLike[str],
    *,
    sets: Sequence[str] = FEATURE_SETS,
    models: Sequence[str] | None = None,
    windows: Sequence[float] = WINDOWS,
    leak: tuple[str, float, str] | None = LEAK_DEMO,
    cache_dir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    log: Callable[[str], None] | None = None,
) -> Comparison:
    """Train and score every ``models`` (default: all) x ``sets`` x ``windows`` cell on ``source``.

    Needs a collection with train and valid splits. ``leak`` names the cell
    (feature set, window, model) whose features also feed :func:`leak_demo`.
    ``log`` gets a line per step (feature tables, each model's scores).
    """
    from genrekit.audio import Windowing
    from genrekit.datasets import load_dataset
    from genrekit.errors import DatasetError
    from genrekit.features import get_feature_set
    from genrekit.store import compute_features

    import onnxruntime  # noqa: F401  (imported here, so the first timed cell does not carry their import time)
    import skl2onnx  # noqa: F401

    say = log or (lambda _line: None)
    records = [r for r in load_dataset(source) if r.label is not None]
    train = [r for r in records if r.split == "train"]
    valid = [r for r in records if r.split == "valid"]
    if not train or not valid:
        raise DatasetError(f"{source}: comparing models needs train and valid splits")
    say(f"{len(train)} train / {len(valid)} valid tracks")
    comparison = Comparison(rows=[], n_train_tracks=len(train), n_valid_tracks=len(valid))
    with tempfile.TemporaryDirectory() as tmp:
        for set_name in sets:
            fs = get_feature_set(set_name)
            cost = extraction_ms(fs, valid)
            for window in windows:
                started = time.perf_counter()
                table = compute_features([*train, *valid], fs, Windowing(window=window), cache_dir=cache_dir, jobs=jobs)
                say(f"{set_name} {window_label(window)}: features in {time.perf_counter() - started:.0f} s "
                    f"({table.computed} computed, {table.cached} cached, {table.failed} failed)")
                for model in models or default_models():
                    row = _row(Configuration.classic(model, set_name, window), source, Path(tmp), cost, cache_dir, jobs)
                    comparison.rows.append(row)
                    say(f"  {model:7s} acc {row['accuracy']:.3f}  bal {row['balanced_accuracy']:.3f}  "
                        f"fit {row['fit_seconds']:.1f} s")
                if leak is not None and (set_name, window) == leak[:2]:
                    comparison.leaks = _leak_entry(table.matrix(), set_name, window, leak[2], say)
    return comparison


def _leak_entry(data: Any, set_name: str, window: float, model: str, say: Callable[[str], None]) -> dict[str, Any]:
    protocols = leak_demo(data, model)
    for name, score in protocols.items():
        say(f"  leak demo, {name}: acc {score['accuracy']:.3f}")
    return {"feature_set": set_name, "window": window_label(window), "model": model,
            "n_tracks": len(set(data.paths)), "protocols": protocols}


def markdown(comparison: Comparison) -> str:
    """The results-page section: every row by balanced accuracy (the best in bold), then the leakage demonstration."""
    rows = comparison.rows
    best = max(rows, key=lambda r: (r["balanced_accuracy"], r["accuracy"]))
    lines = [
        f"Trained on the fault-filtered **train** split ({comparison.n_train_tracks} tracks here), scored on the "
        f"artist-disjoint **valid** split ({comparison.n_valid_tracks} tracks), per track: window probabilities "
        "averaged. Default hyper-parameters, class-balanced weights, seed 0.",
        "",
        "| feature set | window | model | accuracy | balanced accuracy | macro F1 | log loss | ECE | "
        "window bal. acc. | fit (s) | model (MB) | extract (ms / 30 s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: -r["balanced_accuracy"]):
        mark = "**" if r is best else ""
        lines.append(
            f"| {mark}{r['feature_set']}{mark} | {r['window']} | {mark}{r['model']}{mark} | {r['accuracy']:.3f} | "
            f"{mark}{r['balanced_accuracy']:.3f}{mark} | {r['macro_f1']:.3f} | {r['log_loss']:.3f} | {r['ece']:.3f} | "
            f"{r['window_balanced_accuracy']:.3f} | {r['fit_seconds']:.1f} | {r['model_mb']:.2f} | "
            f"{r['extract_ms_per_30s_clip']:.0f} |"
        )
    lines += [
        "",
        f"Best by balanced accuracy: **{Configuration.from_row(best).name}** "
        f"({best['balanced_accuracy']:.3f} balanced, {best['accuracy']:.3f} plain accuracy).",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; extraction time is one process, "
        "decoding excluded; fit time is the whole `train` call on cached features; model size is the `.genre` file.",
    ]
    leaks = comparison.leaks
    if leaks:
        lines += [
            "",
            "### What a leaky split would have reported",
            "",
            f"The same classifier ({leaks['model']}, uncalibrated, on `{leaks['feature_set']}` features of "
            f"{leaks['window']} windows), scored per window under three protocols on the same "
            f"{leaks['n_tracks']} clips:",
            "",
            "| protocol | window accuracy | window balanced accuracy |",
            "|---|---|---|",
        ]
        lines += [f"| {name} | {score['accuracy']:.3f} | {score['balanced_accuracy']:.3f} |"
                  for name, score in leaks["protocols"].items()]
    return "\n".join(lines)
