"""``genrekit predict``: name the genre of audio files."""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from genrekit.cli.app import app
from genrekit.cli.output import audio_files_or_fail, console, error_console, exit_code_for, report_failure, usage_error

if TYPE_CHECKING:
    from genrekit.predict import Prediction


@app.command("predict")
def predict(
    paths: Annotated[
        list[Path], typer.Argument(help="Audio files or folders (searched recursively).", metavar="PATH")
    ],
    model: Annotated[
        Optional[Path], typer.Option("--model", "-m", help="A .genre model file; default: the bundled model.")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="How many genres to show per file.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file per line.")] = False,
    timeline: Annotated[
        bool, typer.Option("--timeline", help="Also print the per-window genre timeline (table output).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but the results.")] = False,
) -> None:
    """Classify each file: the track's genre, its probabilities, and a timeline over windows.

    A file that cannot be read gives an error (a JSON line with "error" under
    --json); the others are still classified, and the exit code is 1.
    """
    # deferred: keeps CLI start-up fast
    from genrekit.errors import GenrekitError
    from genrekit.predict import load_model

    try:
        classifier = load_model(model)
    except GenrekitError as error:
        raise usage_error(str(error)) from None
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


def _print_table(rows: "list[Prediction]", top_k: int) -> None:
    """One row per file; names and labels are cells of plain text, never markup."""
    # deferred: keeps CLI start-up fast
    from rich.table import Table
    from rich.text import Text

    table = Table(title=None, show_lines=False)
    table.add_column("file", overflow="fold")
    table.add_column("genre", style="bold")
    table.add_column("confidence", justify="right")
    table.add_column(f"top {top_k}")
    for row in rows:
        top = ", ".join(f"{genre} {p:.2f}" for genre, p in row.top(top_k))
        table.add_row(Text(Path(row.path).name), Text(row.genre), f"{row.confidence:.2f}", Text(top))
    console.print(table)


def _print_timeline(result: "Prediction") -> None:
    """The file's name, then one line per segment of the same genre."""
    console.print(Path(result.path).name, style="bold", markup=False, highlight=False)
    for seg in result.segments:
        console.print(f"  {seg.start:7.1f}-{seg.end:7.1f} s  {seg.genre:<10} {seg.confidence:.2f}", markup=False)
