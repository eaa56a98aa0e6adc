"""``genrekit doctor``: check an installation (decoders, onnxruntime, models, reference features, cache, extras)."""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from genrekit.cli.app import app
from genrekit.cli.output import EXIT_OK, EXIT_SOME_FAILED, console, plain

if TYPE_CHECKING:
    from genrekit.doctor import Check

STATUS_STYLES = {"ok": "green", "info": "cyan", "warn": "yellow", "fail": "bold red"}


@app.command("doctor")
def doctor(
    as_json: Annotated[
        bool,
        typer.Option("--json", help='Print one JSON object: {"ok": ..., "checks": [{name, status, detail, data}]}.'),
    ] = False,
    cache_dir: Annotated[
        Optional[Path],
        typer.Option("--cache-dir", help="Cache folder to check (default: $GENREKIT_CACHE, else ~/.cache/genrekit)."),
    ] = None,
) -> None:
    """Check this installation: audio decoders, onnxruntime, the bundled model, reference features, cache, extras.

    Each check is ok, info (nothing wrong), warn (works, but something is
    missing) or fail. Exit codes: 0 no check failed, 1 some check failed.
    """
    # deferred: keeps CLI start-up fast
    from genrekit.doctor import failed, run_checks

    checks = run_checks(cache_dir=cache_dir)
    bad = failed(checks)
    if as_json:
        print(json.dumps({"ok": not bad, "checks": [c.to_dict() for c in checks]}, default=str))
    else:
        _print_table(checks)
        warnings = sum(c.status == "warn" for c in checks)
        summary = f"{len(bad)} of {len(checks)} checks failed" if bad else f"all {len(checks)} checks passed"
        if warnings:
            summary += f" ({warnings} warning{'s' if warnings != 1 else ''})"
        console.print(summary, style="bold red" if bad else "bold green", markup=False, highlight=False)
    raise typer.Exit(EXIT_SOME_FAILED if bad else EXIT_OK)


def _print_table(checks: "list[Check]") -> None:
    """One row per check: its status in colour, its name and its detail, every cell plain text."""
    # deferred: keeps CLI start-up fast
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False)
    table.add_column("status")
    table.add_column("check", overflow="fold")
    table.add_column("detail", overflow="fold")
    for check in checks:
        table.add_row(Text(check.status, style=STATUS_STYLES.get(check.status, "")), plain(check.name),
                      plain(check.detail))
    console.print(table)
