"""``genrekit predict``: name the genre of audio files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from genrekit.cli import app
from genrekit.cli.output import audio_files_or_fail, console, error_console, exit_code_for, fail, report_failure


@app.command("predict")
def predict(
    paths: list[Path] = typer.Argument(..., help="Audio files or folders (searched recursively)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="A .genre model file; default: the bundled model."),
    top_k: int = typer.Option(3, "--top-k", "-k", min=1, help="How many genres to show per file."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file per line."),
    timeline: bool = typer.Option(False, "--timeline", help="Also print the per-window genre timeline (table output)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but the results."),
) -> None:
    """Classify each file: the track's genre, its probabilities, and a timeline over windows.

    A file that cannot be read gives an error (a JSON line with "error" under
    --json); the others are still classified, and the exit code is 1.
    """
    from genrekit.errors import GenrekitError
    from genrekit.predict import Prediction, load_model

    try:
        classifier = load_model(model)
    except GenrekitError as error:
        raise fail(str(error)) from None
    files = audio_files_or_fail(paths)

    failures = 0
    rows: list[Prediction] = []
    for path, result in zip(files, classifier.predict_many(files)):
        if isinstance(result, GenrekitError):
            failures += 1
            report_failure(path, result, as_json)
            continue
        if as_json:
            print(json.dumps(result.to_dict(top_k=None)), flush=True)
        else:
            rows.append(result)
            if timeline:
                _print_timeline(result)

    if not as_json and rows:
        _print_table(rows, top_k)
    if not quiet and not as_json and failures:
        error_console.print(f"{failures} of {len(files)} files failed")
    raise typer.Exit(exit_code_for(failures))


def _print_table(rows: list, top_k: int) -> None:
    from rich.table import Table

    table = Table(title=None, show_lines=False)
    table.add_column("file", overflow="fold")
    table.add_column("genre", style="bold")
    table.add_column("confidence", justify="right")
    table.add_column(f"top {top_k}")
    for row in rows:
        top = ", ".join(f"{genre} {p:.2f}" for genre, p in row.top(top_k))
        table.add_row(Path(row.path).name, row.genre, f"{row.confidence:.2f}", top)
    console.print(table)


def _print_timeline(result) -> None:
    console.print(f"[bold]{Path(result.path).name}[/bold]")
    for seg in result.segments:
        console.print(f"  {seg.start:7.1f}-{seg.end:7.1f} s  {seg.genre:<10} {seg.confidence:.2f}")
