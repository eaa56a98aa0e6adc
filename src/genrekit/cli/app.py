"""The ``genrekit`` Typer app, its root callback and ``--version``.

Command modules register themselves with ``from genrekit.cli.app import app``;
this module imports none of them, so there is no import cycle:
:mod:`genrekit.cli` imports this module and then every command module.

The command modules (and this one) do not use ``from __future__ import
annotations``: typer reads each parameter's ``Annotated[...]`` at start-up,
and string annotations would be evaluated twice per parameter
(``inspect.signature(eval_str=True)`` and ``get_type_hints``), which made
``genrekit --help`` about 30 ms slower.
"""

from typing import Annotated

import typer

from genrekit import __version__
from genrekit.cli.typer_base import Typer

app = Typer(
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
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Listen to music and name its genre."""
