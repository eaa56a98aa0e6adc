"""``genrekit models``: install and list pretrained models (musicnn)."""

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from genrekit.cli.app import app
from genrekit.cli.choices import Installable
from genrekit.cli.output import EXIT_SOME_FAILED, console, error_console, plain, print_error
from genrekit.cli.typer_base import Typer

models_app = Typer(name="models", help="Install and list pretrained models.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("install")
def install(
    name: Annotated[
        Installable,
        typer.Argument(help="What to install: musicnn (MSD_musicnn and MTT_musicnn, ISC licence).", metavar="NAME"),
    ],
    wheel: Annotated[
        Optional[Path],
        typer.Option("--wheel", help="Convert this musicnn-0.1.0 wheel instead of downloading it with pip."),
    ] = None,
    data_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--data-dir",
            help="Output folder (default: $GENREKIT_DATA/models/musicnn, else ~/.local/share/genrekit/models/musicnn).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Convert again even if already installed.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Download a pretrained model's published weights and convert them for genrekit (no TensorFlow needed).

    Exit codes: 0 installed (or already there), 1 the download or conversion
    failed, 2 usage errors.
    """
    # deferred: keeps CLI start-up fast
    from genrekit.errors import GenrekitError
    from genrekit.musicnn.installer import install as install_musicnn

    say = (lambda _: None) if quiet else (lambda line: error_console.print(line, markup=False, highlight=False))
    try:
        manifest = install_musicnn(wheel, data_dir, force=force, progress=say)
    except GenrekitError as error:
        print_error(str(error))  # not the user's mistake: the one thing asked for failed
        raise typer.Exit(EXIT_SOME_FAILED) from None
    if not quiet:
        console.print(f"musicnn installed in {manifest['folder']}: {', '.join(manifest['models'])}", markup=False,
                      highlight=False)


@models_app.command("list")
def list_models(
    data_dir: Annotated[
        Optional[Path], typer.Option("--data-dir", help="Folder to look in (default: the install folder).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Show which pretrained models are installed, where, and how big they are."""
    # deferred: keeps CLI start-up fast
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
    # deferred: keeps CLI start-up fast
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"pretrained models (install folder: {install_dir(data_dir)})"), title_justify="left")
    for col in ("model", "installed", "size", "path"):
        table.add_column(col, overflow="fold")
    for row in rows:
        size = f"{row['bytes'] / 1e6:.1f} MB" if row["bytes"] else ""
        table.add_row(
            row["name"], "yes" if row["installed"] else "no", size,
            plain(row["path"] or "run `genrekit models install musicnn`"),
        )
    console.print(table)
