"""Records of CNN and ensemble training runs (one JSON object per run), and the table made from them.

A CNN's valid score moves with its seed by about as much as configurations
differ, so each run is recorded on its own (``scripts/train_cnn.py`` and
``scripts/train_ensemble.py`` write them) and the table gives, per
:class:`~genrekit.comparison.configuration.Configuration`, the mean ± standard
deviation (n - 1) over its seeds and each seed's balanced accuracy.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from genrekit.comparison.configuration import Configuration

SECTION = "cnn_results"
"""The section of the results page the table goes in (:func:`genrekit.comparison.page.write_section`)."""


def run_key(record: Mapping[str, Any]) -> tuple[Configuration, int]:
    """What makes a run: its configuration and seed (a rerun of both replaces the earlier record)."""
    return Configuration.from_record(record), int(record["seed"])


def _order(record: Mapping[str, Any]) -> tuple[str, int]:
    return Configuration.from_record(record).name, int(record["seed"])


def upsert(record: dict[str, Any], path: Path) -> None:
    """Add ``record`` to the JSON list in ``path``, replacing an earlier run of the same configuration and seed."""
    records = json.loads(path.read_text()) if path.exists() else []
    records = [r for r in records if run_key(r) != run_key(record)] + [record]
    path.write_text(json.dumps(sorted(records, key=_order), indent=1) + "\n")


def by_configuration(records: Iterable[Mapping[str, Any]]) -> dict[Configuration, list[Mapping[str, Any]]]:
    """The runs of each configuration, seeds in order, configurations in the order of their names."""
    groups: dict[Configuration, list[Mapping[str, Any]]] = {}
    for r in sorted(records, key=_order):
        groups.setdefault(Configuration.from_record(r), []).append(r)
    return groups


def _mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


def _range(values: list[float], fmt: str) -> str:
    lo, hi = fmt.format(min(values)), fmt.format(max(values))
    return lo if lo == hi else f"{lo}–{hi}"


def _run_line(name: str, r: Mapping[str, Any]) -> str:
    extra = []
    if "best_epoch" in r:
        extra.append(f"best epoch {r['best_epoch']} of {r['epochs_run']}")
    if r.get("oof_balanced_accuracy") is not None:
        extra.append(f"out of fold {r['oof_accuracy']:.3f} / {r['oof_balanced_accuracy']:.3f}, "
                     f"weights {', '.join(f'{w:.2f}' for w in r['weights'])}")
    if r.get("kind") != "ensemble":
        extra.append(f"{r.get('torch_threads', 1)} torch thread(s)")
    extra.append(r.get("note", ""))
    return (f"- {name}, seed {r['seed']}: accuracy {r['valid_accuracy']:.3f}, balanced "
            f"{r['valid_balanced_accuracy']:.3f}; " + "; ".join(e for e in extra if e) + ".")


def render_table(records: Iterable[Mapping[str, Any]]) -> str:
    """Markdown: one row per configuration (mean ± sd over seeds), then one line per run."""
    groups = by_configuration(records)
    lines = [
        "| model | seeds | valid accuracy | valid balanced accuracy | balanced accuracy per seed "
        "| training time | inference (ms / 30 s clip) | model file |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for configuration, runs in groups.items():
        lines.append(
            f"| {configuration.name} | {', '.join(str(r['seed']) for r in runs)} "
            f"| {_mean_sd([r['valid_accuracy'] for r in runs])} "
            f"| {_mean_sd([r['valid_balanced_accuracy'] for r in runs])} "
            f"| {' / '.join(format(r['valid_balanced_accuracy'], '.3f') for r in runs)} "
            f"| {_range([r['train_seconds'] for r in runs], '{:.0f} s')} "
            f"| {_range([r['ms_per_30s_clip'] for r in runs], '{:.0f}')} "
            f"| {_range([r['model_bytes'] / 1e6 for r in runs], '{:.2f} MB')} |")
    lines += ["", "Each run (`best epoch` is the epoch early stopping kept; `out of fold` re-fits an ensemble's "
              "weights on 4/5 of the valid tracks and scores the fifth, in turn):", ""]
    lines += [_run_line(configuration.name, r) for configuration, runs in groups.items() for r in runs]
    return "\n".join(lines)


def figures_text(figures: Mapping[str, Any]) -> str:
    """A run record for a terminal: one right-aligned ``key: value`` line per figure."""
    width = max(map(len, figures))
    return "\n".join(f"{k:>{width}}: {v}" for k, v in figures.items())


def clip_inference_ms(model_path: str | os.PathLike[str], repeats: int = 5) -> float:
    """Median milliseconds to classify a decoded 30 s clip, after one warm-up call (session creation, mel bases)."""
    import numpy as np

    from genrekit.predict import load_model

    classifier = load_model(model_path)
    clip = np.random.default_rng(0).uniform(-0.3, 0.3, 30 * classifier.sample_rate).astype(np.float32)
    classifier.predict_signal(clip, classifier.sample_rate)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        classifier.predict_signal(clip, classifier.sample_rate)
        times.append(time.perf_counter() - started)
    return round(1000 * float(np.median(times)), 1)
