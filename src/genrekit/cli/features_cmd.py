"""``genrekit features``: build a feature table (Parquet) from audio files or a labelled collection.

Exit codes: 0 all files worked, 1 some files failed (the rest are in the
table), 2 usage errors (unknown set, bad option, missing source), 130 interrupted.
"""

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from genrekit.cli.app import app
from genrekit.cli.dask_options import DaskOption, PathMapOption, dask_client
from genrekit.cli.choices import Layout
from genrekit.cli.feature_sets import feature_set_or_fail
from genrekit.cli.output import EXIT_INTERRUPTED, console, error_console, esc, exit_code_for, usage_error
from genrekit.cli.progress import progress_bar

DEFAULT_SET = "default"


def _list_sets(only: str | None, as_json: bool) -> None:
    """Every feature set (or ``only``) with its version, options and columns, as tables or JSON."""
    # deferred: keeps CLI start-up fast
    from rich.table import Table
    from rich.text import Text

    from genrekit.features import available_feature_sets

    names = [only] if only else available_feature_sets()
    described = []
    for name in names:
        fs = feature_set_or_fail(name)
        described.append(
            {
                "name": name,
                "version": fs.version,
                "sample_rate": fs.sample_rate,
                "options": fs.options(),
                "columns": [{"name": c.name, "description": c.description} for c in fs.columns],
            }
        )
    if as_json:
        typer.echo(json.dumps({"sets": described}, indent=2))
        return
    for d in described:
        opts = ", ".join(f"{k}={v!r}" for k, v in d["options"].items())
        table = Table(
            title=Text(f"{d['name']} (version {d['version']}, {len(d['columns'])} columns{', ' + opts if opts else ''})"),
            title_justify="left",
        )
        table.add_column("column", no_wrap=True)
        table.add_column("meaning")
        for c in d["columns"]:
            table.add_row(Text(c["name"]), Text(c["description"]))
        console.print(table)


def resolve_sources(sources: list[Path]) -> list[Path]:
    """Sources as given, except that ``examples`` (where no such path exists) names the bundled recordings."""
    resolved = []
    for source in sources:
        if str(source) == "examples" and not source.exists():
            from importlib.resources import files  # only where asked for

            source = Path(str(files("genrekit") / "data" / "examples"))
        resolved.append(source)
    return resolved


@app.command("features")
def features(
    sources: Annotated[
        Optional[list[Path]],
        typer.Argument(
            help="Audio files, folders (one sub-folder per genre, GTZAN, or loose files) or CSV manifests; "
            "'examples' names the bundled example recordings.",
            show_default=False,
            metavar="SOURCE",
        ),
    ] = None,
    set_name: Annotated[
        Optional[str], typer.Option("--set", "-s", help=f"Feature set (default: {DEFAULT_SET}); see --list.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write.")] = Path("features.parquet"),
    window: Annotated[
        Optional[float], typer.Option("--window", help="Window length in seconds (default: one row per file).")
    ] = None,
    hop: Annotated[Optional[float], typer.Option("--hop", help="Hop between windows in seconds (default: --window).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes.")] = 1,
    no_hpss: Annotated[bool, typer.Option("--no-hpss", help="Skip harmonic/percussive separation (gtzan57).")] = False,
    cache_dir: Annotated[
        Optional[Path], typer.Option("--cache-dir", help="Feature cache (default: $GENREKIT_CACHE or ~/.cache/genrekit).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")] = False,
    layout: Annotated[Layout, typer.Option("--layout", help="How to read SOURCE.")] = Layout.auto,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary instead of text.")] = False,
    list_sets: Annotated[bool, typer.Option("--list", help="List the feature sets and their columns, then exit.")] = False,
    dask: DaskOption = None,
    dask_path_map: PathMapOption = None,
) -> None:
    """Compute a feature table: one row per window, with path, label, split, group, start, end and features."""
    if list_sets:
        _list_sets(set_name, as_json)
        return
    if not sources:
        raise usage_error("give at least one SOURCE (audio file, folder or CSV manifest)")
    if hop is not None and window is None:
        raise usage_error("--hop needs --window")

    # deferred: keeps CLI start-up fast
    from genrekit.audio import Windowing
    from genrekit.datasets import load_sources, summarize
    from genrekit.errors import GenrekitError
    from genrekit.store import build_feature_table, failures_path

    try:
        windowing = Windowing(window=window, hop=hop)
    except GenrekitError as error:
        raise usage_error(str(error)) from None
    fs = feature_set_or_fail(set_name or DEFAULT_SET, no_hpss=no_hpss)
    try:
        records = load_sources(resolve_sources(sources), layout=layout.value)
    except GenrekitError as error:
        raise usage_error(str(error)) from None
    if not records:
        raise usage_error("no audio files found in the given sources")

    bar = progress_bar(quiet)
    try:
        with dask_client(dask, dask_path_map, jobs, [r.path for r in records]) as (client, path_map), bar:
            task = bar.add_task(esc(fs.name), total=len({r.path for r in records}))
            result = build_feature_table(
                records,
                fs,
                out,
                windowing,
                cache_dir=cache_dir,
                use_cache=not no_cache,
                jobs=jobs,
                progress=lambda p: bar.update(task, completed=p.done),
                client=client,
                path_map=path_map,
            )
    except KeyboardInterrupt:
        error_console.print("Interrupted: finished files are cached; run the same command again to resume.",
                            markup=False, highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None

    side = failures_path(out) if result.failures else None
    if as_json:
        summary = {
            "output": str(out),
            "failures_file": str(side) if side else None,
            "feature_set": fs.config(),
            "windowing": windowing.as_dict(),
            "rows": result.n_rows,
            "columns": len(fs.columns),
            "files": result.n_files,
            "computed": result.computed,
            "cached": result.cached,
            "failed": result.failed,
            "labels": summarize(records)["labels"],
            "failures": [{"path": f.path, "error": f.error, "message": f.message} for f in result.failures],
        }
        typer.echo(json.dumps(summary, indent=2))
    else:
        console.print(
            f"Wrote [bold]{esc(str(out))}[/bold]: {result.n_rows} rows x {len(fs.columns)} features "
            f"({esc(fs.name)}) from {result.n_files} files: {result.computed} computed, "
            f"{result.cached} from cache, {result.failed} failed."
        )
        if result.failures:
            console.print(f"[red]{result.failed} file(s) failed[/red] (also in {esc(str(side))}):", highlight=False)
            for f in result.failures:
                message = f.message.removeprefix(f"{f.path}: ")  # genrekit's errors start with the path
                console.print(f"  {esc(f.path)}: {esc(f.error)}: {esc(message)}", highlight=False)
    raise typer.Exit(exit_code_for(result.failed))
