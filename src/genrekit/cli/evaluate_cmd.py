"""``genrekit evaluate``: score a model file on a labelled collection."""

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from genrekit.cli.app import app
from genrekit.cli.choices import Split
from genrekit.cli.output import console, exit_code_for, plain, report_skipped, usage_error
from genrekit.cli.progress import store_progress


@app.command("evaluate")
def evaluate(
    model: Annotated[Path, typer.Argument(help="The .genre model file.", metavar="MODEL")],
    source: Annotated[
        Path,
        typer.Argument(help="Labelled collection: GTZAN folder, folder per genre, or CSV manifest.", metavar="SOURCE"),
    ],
    split: Annotated[Split, typer.Option("--split", help="Which tracks to score.")] = Split.valid,
    report: Annotated[Optional[Path], typer.Option("--report", help="Also write an HTML report here.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Processes for feature extraction.")] = 1,
    cache_dir: Annotated[Optional[Path], typer.Option("--cache-dir", help="Feature cache directory.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print all metrics as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Accuracy, balanced accuracy, per-class scores, confusion matrix, log loss and calibration, per track."""
    # deferred: keeps CLI start-up fast
    from genrekit.errors import GenrekitError
    from genrekit.training import evaluate as run_evaluate

    try:
        with store_progress("features", quiet=quiet or as_json) as progress:
            result = run_evaluate(model, source, split=split.value, cache_dir=cache_dir, jobs=jobs, progress=progress)
    except GenrekitError as error:
        raise usage_error(str(error)) from None

    if report is not None:
        # deferred: keeps CLI start-up fast
        from genrekit.report.evaluation import render_evaluation_html

        context = {"model": str(model), "source": str(source), "split": split.value, "level": "track"}
        report.write_text(render_evaluation_html(result.metrics, f"genrekit evaluation: {model.name}", context))

    if as_json:
        print(json.dumps({"model": str(model), "source": str(source), "split": split.value, "level": "track",
                          "metrics": result.metrics, "window_metrics": result.window_metrics,
                          "failures": [f.__dict__ for f in result.failures]}))
    else:
        _print_metrics(result.metrics, split.value)
        if report is not None:
            console.print(plain(f"report: {report}"))
    report_skipped(result.failures)
    raise typer.Exit(exit_code_for(len(result.failures)))


def _print_metrics(m: dict[str, Any], split: str) -> None:
    """The headline figures, the per-genre table and the confusion matrix; labels are plain text cells."""
    # deferred: keeps CLI start-up fast
    from rich import box
    from rich.table import Table

    console.print(f"[bold]{split}[/bold] split, {m['n_samples']} tracks: accuracy {m['accuracy']:.3f}, "
                  f"balanced accuracy {m['balanced_accuracy']:.3f}, macro F1 {m['macro_f1']:.3f}, "
                  f"log loss {m['log_loss']:.3f}, ECE {m['ece']:.3f}")
    table = Table()
    for col in ("genre", "precision", "recall", "F1", "tracks"):
        table.add_column(col, justify="left" if col == "genre" else "right")
    for label, row in m["per_class"].items():
        table.add_row(plain(label), f"{row['precision']:.2f}", f"{row['recall']:.2f}", f"{row['f1']:.2f}",
                      str(row["support"]))
    console.print(table)

    labels = m["labels"]
    cm = Table(title="confusion (rows: truth, columns: predicted)", box=box.SIMPLE, padding=(0, 1))
    cm.add_column("", no_wrap=True)
    for label in labels:
        cm.add_column(plain(str(label)[:4]), justify="right", no_wrap=True, min_width=4)
    for label, counts in zip(labels, m["confusion"]["counts"]):
        cm.add_row(plain(label), *[str(c) if c else "." for c in counts])
    console.print(cm)
