"""``genrekit evaluate``: score a model file on a labelled collection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from genrekit.cli import app
from genrekit.cli.output import EXIT_USAGE, console, error_console, store_progress


@app.command("evaluate")
def evaluate(
    model: Path = typer.Argument(..., help="The .genre model file."),
    source: Path = typer.Argument(..., help="Labelled collection: GTZAN folder, folder per genre, or CSV manifest."),
    split: str = typer.Option("valid", "--split", help="valid, test, train or all."),
    report: Optional[Path] = typer.Option(None, "--report", help="Also write an HTML report here."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Processes for feature extraction."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Feature cache directory."),
    as_json: bool = typer.Option(False, "--json", help="Print all metrics as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Accuracy, balanced accuracy, per-class scores, confusion matrix, log loss and calibration, per track."""
    from genrekit.errors import GenrekitError
    from genrekit.training import evaluate as run_evaluate

    if split not in ("train", "valid", "test", "all"):
        error_console.print(f"[red]error:[/red] unknown split {split!r}; choose valid, test, train or all")
        raise typer.Exit(EXIT_USAGE)
    try:
        with store_progress("features", quiet=quiet or as_json) as progress:
            result = run_evaluate(model, source, split=split, cache_dir=cache_dir, jobs=jobs, progress=progress)
    except (GenrekitError, ValueError) as error:
        error_console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(EXIT_USAGE)

    if report is not None:
        from genrekit.report.evaluation import render_evaluation_html

        context = {"model": str(model), "source": str(source), "split": split, "level": "track"}
        report.write_text(render_evaluation_html(result.metrics, f"genrekit evaluation: {model.name}", context))

    if as_json:
        print(json.dumps({"model": str(model), "source": str(source), "split": split, "level": "track",
                          "metrics": result.metrics, "window_metrics": result.window_metrics,
                          "failures": [f.__dict__ for f in result.failures]}))
    else:
        _print_metrics(result, split)
        if report is not None:
            console.print(f"report: {report}")
    for failure in result.failures:
        error_console.print(f"[yellow]skipped:[/yellow] {failure.path}: {failure.message}")
    raise typer.Exit(1 if result.failures else 0)


def _print_metrics(result, split: str) -> None:
    from rich.table import Table

    m = result.metrics
    console.print(f"[bold]{split}[/bold] split, {m['n_samples']} tracks: accuracy {m['accuracy']:.3f}, "
                  f"balanced accuracy {m['balanced_accuracy']:.3f}, macro F1 {m['macro_f1']:.3f}, "
                  f"log loss {m['log_loss']:.3f}, ECE {m['ece']:.3f}")
    table = Table()
    for col in ("genre", "precision", "recall", "F1", "tracks"):
        table.add_column(col, justify="left" if col == "genre" else "right")
    for label, row in m["per_class"].items():
        table.add_row(label, f"{row['precision']:.2f}", f"{row['recall']:.2f}", f"{row['f1']:.2f}", str(row["support"]))
    console.print(table)
    from rich import box

    labels = m["labels"]
    cm = Table(title="confusion (rows: truth, columns: predicted)", box=box.SIMPLE, padding=(0, 1))
    cm.add_column("", no_wrap=True)
    for label in labels:
        cm.add_column(label[:4], justify="right", no_wrap=True, min_width=4)
    for label, counts in zip(labels, m["confusion"]["counts"]):
        cm.add_row(label, *[str(c) if c else "." for c in counts])
    console.print(cm)
