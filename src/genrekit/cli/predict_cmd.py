"""``genrekit predict``: name the genre of audio files."""

import json
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from genrekit.cli.app import app
from genrekit.cli.choices import Coverage
from genrekit.cli.dask_options import DaskOption, PathMapOption, dask_client
from genrekit.cli.output import (
    audio_files_or_fail,
    console,
    error_console,
    exit_code_for,
    plain,
    report_failure,
    shown,
    usage_error,
)
from genrekit.cli.progress import progress_bar

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

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
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Worker processes, each loading the model once (1: this process).")
    ] = 1,
    coverage: Annotated[
        Optional[Coverage], typer.Option("--coverage", show_default=False,
                                         help="fast: at most 12 evenly spread windows, decoding only those (the "
                                         "verdict; see docs/results.md); full: every window. Default: fast, or "
                                         "full with --timeline.")
    ] = None,
    dask: DaskOption = None,
    dask_path_map: PathMapOption = None,
) -> None:
    """Classify each file: the track's genre, its probabilities, and a timeline over windows.

    A file that cannot be read gives an error (a JSON line with "error" under
    --json); the others are still classified, and the exit code is 1.
    """
    # deferred: keeps CLI start-up fast
    from genrekit.batch import classify_files
    from genrekit.errors import GenrekitError

    files = audio_files_or_fail(paths)
    with dask_client(dask, dask_path_map, jobs, files) as (client, path_map):
        try:
            mode = coverage or (Coverage.full if timeline else Coverage.fast)
            # loads the model now: a bad one is a usage error
            results = classify_files(files, model, jobs=jobs, coverage=mode.value, client=client, path_map=path_map)
        except GenrekitError as error:
            raise usage_error(str(error)) from None
        failures = _print_results(results, files, as_json=as_json, quiet=quiet, top_k=top_k, timeline=timeline)
    raise typer.Exit(exit_code_for(failures))


def _print_results(results: Any, files: list[Any], *, as_json: bool, quiet: bool, top_k: int, timeline: bool) -> int:
    """Print each result as it arrives (table rows or JSON lines, a progress bar); returns the failures."""
    from genrekit.errors import GenrekitError

    failures = 0
    # the bar goes to stderr; JSON lines to a pipe are for a program, which wants no bar
    bar = progress_bar(quiet or (as_json and not console.is_terminal))
    out = _row_console(bar)  # before the bar starts, which diverts sys.stdout while it shows
    table = None if as_json else _StreamingTable(top_k, out)
    with bar, closing(results):  # closing: Ctrl-C or an error here shuts the workers down at once
        task = bar.add_task("classifying", total=len(files))
        for path, result in results:
            if isinstance(result, GenrekitError):
                failures += 1
                report_failure(path, result, as_json)
            elif as_json:
                print(json.dumps(result.to_dict(top_k=None)), flush=True)
            else:
                table.add(result)
                if timeline:
                    _print_timeline(result, out)
            bar.advance(task)
    if not quiet and not as_json and failures:
        error_console.print(f"{failures} of {len(files)} files failed")
    return failures


def _row_console(bar: Any) -> "Console":
    """Where table rows go while ``bar`` may be showing.

    With no bar, the usual stdout console. With one on the terminal, rows on
    a terminal too are printed through the bar's console, above the bar (two
    writers on one screen would garble it); rows going to a file or pipe get
    a console bound to that stream (made before the bar starts), since the
    bar diverts ``sys.stdout`` to its own console while it shows.
    """
    if bar.disable:
        return console
    if console.is_terminal:
        return bar.console
    from rich.console import Console as RichConsole

    return RichConsole(file=sys.stdout, soft_wrap=True)


class _StreamingTable:
    """Table rows printed as each file finishes (a crash or Ctrl-C later loses nothing already shown).

    Each row is a one-row rich table with the same fixed column widths, so
    the rows line up under one header; names and labels are plain text cells.
    """

    def __init__(self, top_k: int, out: "Console") -> None:
        self.top_k = top_k
        self.out = out
        self.header_done = False
        rest = max(out.width - 12 - 12 - 6, 40)
        self.widths = (max(rest // 2, 20), 12, 10, max(rest - rest // 2, 20))

    def _table(self, show_header: bool) -> "Table":
        from rich.table import Table  # deferred: keeps CLI start-up fast

        table = Table(box=None, show_header=show_header, header_style="bold", pad_edge=False)
        names = ("file", "genre", "confidence", f"top {self.top_k}")
        for name, width in zip(names, self.widths):
            table.add_column(name, width=width, overflow="fold",
                             justify="right" if name == "confidence" else "left",
                             style="bold" if name == "genre" else None)
        return table

    def add(self, row: "Prediction") -> None:
        table = self._table(not self.header_done)
        self.header_done = True
        top = ", ".join(f"{shown(genre)} {p:.2f}" for genre, p in row.top(self.top_k))
        table.add_row(plain(Path(row.path).name), plain(row.genre), f"{row.confidence:.2f}", plain(top))
        self.out.print(table)


def _print_timeline(result: "Prediction", out: "Console") -> None:
    """The file's name, then one line per segment of the same genre."""
    out.print(plain(Path(result.path).name), style="bold", highlight=False)
    for seg in result.segments:
        out.print(plain(f"  {seg.start:7.1f}-{seg.end:7.1f} s  {seg.genre:<10} {seg.confidence:.2f}"),
                      highlight=False)
