"""The ``genrekit`` command: argument handling and printing only.

Each command lives in its own module of this package and calls library
functions; heavy imports happen inside the commands so start-up stays fast.
"""

from __future__ import annotations

import typer

from genrekit import __version__

app = typer.Typer(
    name="genrekit",
    help="Listen to music and name its genre.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"genrekit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
) -> None:
    """Listen to music and name its genre."""


def _register_commands() -> None:
    from genrekit.cli import (  # noqa: F401
        demo_cmd,
        evaluate_cmd,
        features_cmd,
        models_cmd,
        predict_cmd,
        tags_cmd,
        train_cmd,
    )


_register_commands()


def main() -> None:
    app()
