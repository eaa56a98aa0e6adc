"""``genrekit models``: install pretrained networks (musicnn), and list them with the bundled genre models."""

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
    """Show the bundled genre models (default, accurate: cost and scores) and which musicnn networks are installed."""
    # deferred: keeps CLI start-up fast
    from genrekit.musicnn.installer import read_manifest
    from genrekit.musicnn.paths import MODELS, install_dir, installed_models

    bundled = bundled_rows()
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
        print(json.dumps({"install_dir": str(install_dir(data_dir)), "models": rows, "bundled": bundled}))
        return
    # deferred: keeps CLI start-up fast
    from rich.table import Table
    from rich.text import Text

    console.print(bundled_table(bundled))
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


def bundled_rows() -> list[dict]:
    """One row per bundled model name: what it is, its cost per clip and the scores it was chosen by (from its card)."""
    # deferred: keeps CLI start-up fast
    from genrekit.errors import GenrekitError
    from genrekit.models.bundle import read_card
    from genrekit.predict import BUNDLED_NAMES, bundled_model_path

    rows = []
    for name in BUNDLED_NAMES:
        row: dict = {"name": name, "path": None, "bytes": None, "kind": None, "configuration": None,
                     "ms_per_30s_clip": None, "mean_balanced_accuracy": None, "directions": {}, "temperature": None,
                     "trained_on": None, "error": None}
        try:
            path = bundled_model_path(name)
            card = read_card(path)
        except GenrekitError as error:
            rows.append(row | {"error": str(error)})
            continue
        selection = card.extra.get("selection") if isinstance(card.extra.get("selection"), dict) else {}
        figures = selection.get("selection_figures") if isinstance(selection.get("selection_figures"), dict) else {}
        row |= {
            "path": str(path), "bytes": path.stat().st_size, "kind": card.kind,
            "configuration": selection.get("configuration"),
            "ms_per_30s_clip": selection.get("ms_per_30s_clip"),
            "mean_balanced_accuracy": selection.get("mean_balanced_accuracy_both_directions"),
            "directions": {d: {k: f.get(k) for k in ("accuracy", "balanced_accuracy")}
                           for d, f in figures.items() if isinstance(f, dict)},
            "temperature": card.calibration.temperature if card.calibration else None,
            "trained_on": _trained_on(card.training),
        }
        rows.append(row)
    return rows


def _trained_on(training) -> str:
    """``all (265 tracks)``; a CNN's early-stopping tracks are counted too, since they shaped the fit."""
    stopping = training.extra.get("early_stopping")
    stopped = stopping.get("n_tracks", 0) if isinstance(stopping, dict) else 0
    if isinstance(stopped, int) and stopped > 0:
        return f"{training.split} ({training.n_tracks + stopped} tracks: {training.n_tracks} fit, {stopped} early stopping)"
    return f"{training.split} ({training.n_tracks} tracks)"


def _figure(value, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, (int, float)) else "-"


def bundled_table(rows: list[dict]):
    """The bundled models as a rich table; every value from a card is shown as plain text."""
    # deferred: keeps CLI start-up fast
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text("bundled genre models (--model NAME)"), title_justify="left")
    for col in ("name", "configuration", "ms / 30 s clip", "train->valid bal", "valid->train bal", "mean bal",
                "size", "trained on"):
        table.add_column(col, overflow="fold")
    for row in rows:
        if row["error"]:
            table.add_row(row["name"], plain(row["error"]), *[""] * 6)
            continue
        d = row["directions"]
        table.add_row(
            row["name"], plain(row["configuration"] or row["kind"] or ""), _figure(row["ms_per_30s_clip"], ".0f"),
            _figure(d.get("train->valid", {}).get("balanced_accuracy"), ".3f"),
            _figure(d.get("valid->train", {}).get("balanced_accuracy"), ".3f"),
            _figure(row["mean_balanced_accuracy"], ".3f"), f"{row['bytes'] / 1e6:.2f} MB", plain(row["trained_on"] or ""),
        )
    return table
