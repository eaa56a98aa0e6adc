"""``genrekit models``: install and list pretrained models (musicnn)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from genrekit.cli import app
from genrekit.cli.output import console, error_console

models_app = typer.Typer(name="models", help="Install and list pretrained models.", no_args_is_help=True)
app.add_typer(models_app, name="models")

INSTALLABLE = ("musicnn",)


@models_app.command("install")
def install(
    name: str = typer.Argument(..., help="What to install: musicnn (MSD_musicnn and MTT_musicnn, ISC licence)."),
    wheel: Optional[Path] = typer.Option(
        None, "--wheel", help="Convert this musicnn-0.1.0 wheel instead of downloading it with pip."
    ),
    data_dir: Optional[Path] = typer.Option(
        None,
        "--data-dir",
        help="Output folder (default: $GENREKIT_DATA/models/musicnn, else ~/.local/share/genrekit/models/musicnn).",
    ),
    force: bool = typer.Option(False, "--force", help="Convert again even if already installed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success."),
) -> None:
    """Download a pretrained model's published weights and convert them for genrekit (no TensorFlow needed)."""
    from genrekit.errors import GenrekitError
    from genrekit.musicnn.installer import install as install_musicnn

    if name not in INSTALLABLE:
        error_console.print(f"[red]error:[/red] unknown model {name!r}; installable: {', '.join(INSTALLABLE)}")
        raise typer.Exit(2)
    say = (lambda _: None) if quiet else (lambda line: error_console.print(line, highlight=False))
    try:
        manifest = install_musicnn(wheel, data_dir, force=force, progress=say)
    except GenrekitError as error:
        error_console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1)
    if not quiet:
        console.print(f"musicnn installed in {manifest['folder']}: {', '.join(manifest['models'])}", highlight=False)


@models_app.command("list")
def list_models(
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder to look in (default: the install folder)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object."),
) -> None:
    """Show which pretrained models are installed, where, and how big they are."""
    from genrekit.musicnn.installer import read_manifest
    from genrekit.musicnn.paths import MODELS, install_dir, installed_models

    found = installed_models(data_dir)
    rows = []
    for model in MODELS:
        path = found.get(model)
        manifest = read_manifest(path.parent) if path else None
        rows.append(
            {
                "name": model,
                "family": "musicnn",
                "installed": path is not None,
                "path": str(path) if path else None,
                "bytes": path.stat().st_size if path else None,
                "source": (manifest or {}).get("source"),
            }
        )
    if as_json:
        print(json.dumps({"install_dir": str(install_dir(data_dir)), "models": rows}))
        return
    from rich.table import Table

    table = Table(title=f"pretrained models (install folder: {install_dir(data_dir)})", title_justify="left")
    for col in ("model", "installed", "size", "path"):
        table.add_column(col, overflow="fold")
    for row in rows:
        size = f"{row['bytes'] / 1e6:.1f} MB" if row["bytes"] else ""
        table.add_row(
            row["name"], "yes" if row["installed"] else "no", size, row["path"] or "run `genrekit models install musicnn`"
        )
    console.print(table)
