"""``genrekit features``: build a feature table (Parquet) from audio files or a labelled collection.

Exit codes: 0 all files worked, 1 some files failed (the rest are in the
table), 2 usage errors (unknown set, bad option, missing source), 130 interrupted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from genrekit.cli import app
from genrekit.cli.output import progress_bar

if TYPE_CHECKING:
    from rich.console import Console

    from genrekit.features.base import FeatureSet

DEFAULT_SET = "default"


def _usage_error(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(2)


def _feature_set(name: str, no_hpss: bool) -> "FeatureSet":
    from genrekit.features import get_feature_set

    options: dict[str, Any] = {"hpss": False} if no_hpss else {}
    try:
        return get_feature_set(name, **options)
    except ValueError as error:
        raise _usage_error(str(error)) from None
    except TypeError as error:
        if no_hpss and "hpss" in str(error):
            raise _usage_error(
                f"--no-hpss applies only to feature sets with an HPSS step (such as gtzan57); {name!r} has none"
            ) from None
        raise


def _list_sets(only: str | None, as_json: bool, console: "Console") -> None:
    from rich.table import Table

    from genrekit.features import available_feature_sets, get_feature_set

    names = [only] if only else available_feature_sets()
    described = []
    for name in names:
        try:
            fs = get_feature_set(name)
        except ValueError as error:
            raise _usage_error(str(error)) from None
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
            title=f"{d['name']} (version {d['version']}, {len(d['columns'])} columns{', ' + opts if opts else ''})",
            title_justify="left",
        )
        table.add_column("column", no_wrap=True)
        table.add_column("meaning")
        for c in d["columns"]:
            table.add_row(c["name"], c["description"])
        console.print(table)


def resolve_sources(sources: list[Path]) -> list[Path]:
    """Sources as given, except that ``examples`` (where no such path exists) names the bundled recordings."""
    resolved = []
    for source in sources:
        if str(source) == "examples" and not source.exists():
            from importlib.resources import files

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
    layout: Annotated[
        str, typer.Option("--layout", help="How to read SOURCE: auto, folders, manifest, gtzan or files.")
    ] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary instead of text.")] = False,
    list_sets: Annotated[bool, typer.Option("--list", help="List the feature sets and their columns, then exit.")] = False,
) -> None:
    """Compute a feature table: one row per window, with path, label, split, group, start, end and features."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(soft_wrap=True)
    if list_sets:
        _list_sets(set_name, as_json, console)
        return
    if not sources:
        raise _usage_error("give at least one SOURCE (audio file, folder or CSV manifest)")
    if hop is not None and window is None:
        raise _usage_error("--hop needs --window")
    if layout not in ("auto", "folders", "manifest", "gtzan", "files"):
        raise _usage_error(f"unknown --layout {layout!r}; use auto, folders, manifest, gtzan or files")

    from genrekit.audio import Windowing
    from genrekit.datasets import load_sources, summarize
    from genrekit.errors import DatasetError
    from genrekit.store import build_feature_table, failures_path

    try:
        windowing = Windowing(window=window, hop=hop)
    except ValueError as error:
        raise _usage_error(str(error)) from None
    fs = _feature_set(set_name or DEFAULT_SET, no_hpss)
    try:
        records = load_sources(resolve_sources(sources), layout=layout)  # type: ignore[arg-type]
    except DatasetError as error:
        raise _usage_error(str(error)) from None
    if not records:
        raise _usage_error("no audio files found in the given sources")

    bar = progress_bar(quiet)
    try:
        with bar:
            task = bar.add_task(f"{fs.name}", total=len({r.path for r in records}))
            result = build_feature_table(
                records,
                fs,
                out,
                windowing,
                cache_dir=cache_dir,
                use_cache=not no_cache,
                jobs=jobs,
                progress=lambda p: bar.update(task, completed=p.done),
            )
    except KeyboardInterrupt:
        typer.echo("Interrupted: finished files are cached; run the same command again to resume.", err=True)
        raise typer.Exit(130) from None

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
            f"Wrote [bold]{escape(str(out))}[/bold]: {result.n_rows} rows x {len(fs.columns)} features "
            f"({fs.name}) from {result.n_files} files: {result.computed} computed, "
            f"{result.cached} from cache, {result.failed} failed."
        )
        if result.failures:
            console.print(f"[red]{result.failed} file(s) failed[/red] (also in {escape(str(side))}):", highlight=False)
            for f in result.failures:
                message = f.message.removeprefix(f"{f.path}: ")  # genrekit's errors start with the path
                console.print(f"  {escape(f.path)}: {escape(f.error)}: {escape(message)}", highlight=False)
    if result.failures:
        raise typer.Exit(1)
