"""The CNN and ensemble figures of docs/results.md: one JSON record per training run, and the table made from them.

``scripts/train_cnn.py --results docs/results-cnn.json`` and
``scripts/train_ensemble.py --results docs/results-cnn.json`` add (or replace)
their run's record; this script renders the records into docs/results.md
between ``<!-- cnn_results:begin -->`` and ``<!-- cnn_results:end -->``::

    python scripts/cnn_results.py render                  # docs/results-cnn.json -> docs/results.md
    python scripts/cnn_results.py add run.json            # records printed by --json, one per line

Runs of one configuration (same kind, init and fine-tuning depth, or same
ensemble recipe) differ only by seed; the table gives their mean ± standard
deviation (n - 1) and each seed's balanced accuracy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "results-cnn.json"
PAGE = REPO / "docs" / "results.md"
BEGIN, END = "<!-- cnn_results:begin -->", "<!-- cnn_results:end -->"


def configuration(record: dict[str, Any]) -> str:
    """The row a record belongs to: everything but the seed."""
    if record.get("kind") == "ensemble":
        return f"ensemble ({record['recipe']})"
    level = record.get("fine_tune")
    tuned = "" if record.get("init") != "musicnn" else (
        ", new head on frozen musicnn" if level == "head" else f", fine-tuned from the {level} up")
    stopped = ", epoch chosen on valid (optimistic)" if record.get("stop_on") == "valid" else ""
    return f"CNN, --init {record['init']}{tuned}{stopped}"


def _key(record: dict[str, Any]) -> tuple[str, int]:
    return configuration(record), int(record["seed"])


def upsert(record: dict[str, Any], path: Path = RESULTS) -> None:
    """Add ``record`` to ``path``, replacing an earlier run of the same configuration and seed."""
    records = json.loads(path.read_text()) if path.exists() else []
    records = [r for r in records if _key(r) != _key(record)] + [record]
    path.write_text(json.dumps(sorted(records, key=_key), indent=1) + "\n")


def report(figures: dict[str, Any], results: Path | None, as_json: bool) -> None:
    """Record ``figures`` in ``results`` (if given) and print them: one JSON line, or one line per figure."""
    if results is not None:
        upsert(figures, results)
    if as_json:
        print(json.dumps(figures))
    else:
        width = max(map(len, figures))
        for k, v in figures.items():
            print(f"{k:>{width}}: {v}")


def clip_inference_ms(model_path: Path, repeats: int = 5) -> float:
    """Median milliseconds to classify a 30 s clip (decoded already), after one warm-up call."""
    import numpy as np

    from genrekit.predict import load_model

    classifier = load_model(model_path)
    clip = np.random.default_rng(0).uniform(-0.3, 0.3, 30 * classifier.sample_rate).astype(np.float32)
    classifier.predict_signal(clip)  # session creation, mel bases
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        classifier.predict_signal(clip)
        times.append(time.perf_counter() - started)
    return round(1000 * float(np.median(times)), 1)


def _mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


def _range(values: list[float], fmt: str) -> str:
    lo, hi = min(values), max(values)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"


def render_table(records: list[dict[str, Any]]) -> str:
    """Markdown: one row per configuration, then one line per run."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(records, key=_key):
        rows.setdefault(configuration(r), []).append(r)
    lines = [
        "| model | seeds | valid accuracy | valid balanced accuracy | balanced accuracy per seed "
        "| training time | inference (ms / 30 s clip) | model file |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in rows.items():
        lines.append(
            f"| {name} | {', '.join(str(r['seed']) for r in runs)} "
            f"| {_mean_sd([r['valid_accuracy'] for r in runs])} "
            f"| {_mean_sd([r['valid_balanced_accuracy'] for r in runs])} "
            f"| {' / '.join(format(r['valid_balanced_accuracy'], '.3f') for r in runs)} "
            f"| {_range([r['train_seconds'] for r in runs], '{:.0f} s')} "
            f"| {_range([r['ms_per_30s_clip'] for r in runs], '{:.0f}')} "
            f"| {_range([r['model_bytes'] / 1e6 for r in runs], '{:.2f} MB')} |")
    lines += ["", "Each run (`best epoch` is the epoch early stopping kept; `out of fold` re-fits an ensemble's "
              "weights on 4/5 of the valid tracks and scores the fifth, in turn):", ""]
    for name, runs in rows.items():
        for r in runs:
            extra = []
            if "best_epoch" in r:
                extra.append(f"best epoch {r['best_epoch']} of {r['epochs_run']}")
            if "oof_balanced_accuracy" in r:
                extra.append(f"out of fold {r['oof_accuracy']:.3f} / {r['oof_balanced_accuracy']:.3f}, "
                             f"weights {', '.join(f'{w:.2f}' for w in r['weights'])}")
            extra.append(f"{r.get('torch_threads', 1)} torch thread(s)" if r.get("kind") != "ensemble" else "")
            extra.append(r.get("note", ""))
            lines.append(f"- {name}, seed {r['seed']}: accuracy {r['valid_accuracy']:.3f}, balanced "
                         f"{r['valid_balanced_accuracy']:.3f}; " + "; ".join(e for e in extra if e) + ".")
    return "\n".join(lines)


def render(results: Path = RESULTS, page: Path = PAGE) -> None:
    """Rewrite the part of ``page`` between the markers from ``results``."""
    text = page.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{page}: markers {BEGIN} / {END} not found")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    body = render_table(json.loads(results.read_text()))
    page.write_text(f"{head}{BEGIN}\n\n{body}\n\n{END}{tail}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=("render", "add"))
    ap.add_argument("files", nargs="*", type=Path, help="add: files of JSON records, one per line")
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--page", type=Path, default=PAGE)
    args = ap.parse_args()
    if args.action == "add":
        for f in args.files:
            for line in f.read_text().splitlines():
                if line.startswith("{"):
                    upsert(json.loads(line), args.results)
    render(args.results, args.page)


if __name__ == "__main__":
    main()
