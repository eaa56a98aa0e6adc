"""``genrekit scan``: keep a library database of every audio file's genre, and export it."""

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from genrekit.cli.app import app
from genrekit.cli.dask_options import DaskOption, PathMapOption, dask_client
from genrekit.cli.output import console, error_console, exit_code_for, plain, shown, usage_error
from genrekit.cli.progress import progress_bar


@app.command("scan")
def scan(
    paths: Annotated[
        Optional[list[Path]],
        typer.Argument(help="Music folders or files (searched recursively).", metavar="LIBRARY", show_default=False),
    ] = None,
    db_path: Annotated[Path, typer.Option("--db", help="The library database (SQLite); created if absent.")] = Path(
        "library.sqlite"),
    model: Annotated[
        Optional[Path], typer.Option("--model", "-m", help="A .genre model file; default: the bundled model.")
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Worker processes, each loading the model once (1: this process).")
    ] = 1,
    export: Annotated[
        Optional[Path], typer.Option("--export", help="Write the table to FILE (.csv, .parquet or .jsonl); "
                                     "without LIBRARY, nothing is scanned.", metavar="FILE")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but failures.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    dask: DaskOption = None,
    dask_path_map: PathMapOption = None,
) -> None:
    """Classify every audio file under LIBRARY into the database, skipping what it already holds.

    Unchanged files are not read again, a file whose content is unchanged is
    not decoded again, and a moved file is recognised by its content. Each
    result is saved as it finishes, so an interrupted scan resumes. Exit code
    1 if any file failed.
    """
    # deferred: keeps CLI start-up fast
    from genrekit.errors import GenrekitError
    from genrekit.library.db import LibraryDB
    from genrekit.library.export import export_table
    from genrekit.library.scan import scan_library

    if not paths and export is None:
        raise usage_error("name a LIBRARY folder to scan, or --export FILE to write the database out")
    failures = 0
    try:
        with LibraryDB(db_path, create=bool(paths)) as db:
            if paths:
                bar = progress_bar(quiet or as_json)
                with dask_client(dask, dask_path_map, jobs, paths) as (client, path_map), bar:
                    task = bar.add_task("checking", total=None)

                    def progress(phase: str, done: int, total: int) -> None:
                        bar.update(task, description=phase, completed=done, total=total)

                    summary = scan_library(paths, db, model, jobs=jobs, progress=progress, client=client,
                                           path_map=path_map)
                failures = len(summary.failures)
                _print_summary(summary, as_json, quiet)
            if export is not None:
                rows = export_table(db, export)
                if not quiet and not as_json:
                    error_console.print(plain(f"wrote {rows} rows to {shown(export)}"))
    except GenrekitError as error:
        raise usage_error(str(error)) from None
    raise typer.Exit(exit_code_for(failures))


def _print_summary(summary: Any, as_json: bool, quiet: bool) -> None:
    """The counts per genre and per status, then each failure with its path (always, even when quiet)."""
    if as_json:
        print(json.dumps(summary.to_dict()), flush=True)
        return
    for path, error in summary.failures:
        error_console.print("[red]failed:[/red] ", plain(error), sep="", highlight=False)
    if quiet:
        return
    from rich.table import Table  # deferred: keeps CLI start-up fast

    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("genre")
    table.add_column("files", justify="right")
    for genre, count in summary.genres.most_common():
        table.add_row(plain(genre), str(count))
    console.print(table)
    counts = summary.to_dict()
    done = ", ".join(f"{counts[s]} {s}" for s in ("classified", "unchanged", "rehashed", "moved", "copied", "failed")
                     if counts[s])
    console.print(plain(f"{summary.files} files: {done or 'none'}; {summary.removed} removed (no longer found)"))
