"""typer's ``Typer``, with ``--help`` that shows flags as flags.

typer's rich help gives every option a type column from
``TyperOption.display_type_rich``, which, unlike its plain-text
``get_help_record``, does not skip flags: with typer 0.29 every ``bool``
option, ``--help`` included, reads ``--json <bool>`` as if it took a value.
``display_type_rich`` returns an option's ``metavar`` when it has one, so
giving each flag (and counter) an empty metavar leaves its type column blank;
a flag's metavar is used for nothing else (it takes no value). Commands made
by :class:`Typer` do this in ``get_params``, which every help page and the
parser go through, so it also reaches the lazily made ``--help`` option.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption


def _blank_flag_types(params: list[Any]) -> list[Any]:
    """Give flags and counters without a metavar an empty one (see the module docstring)."""
    for param in params:
        if isinstance(param, TyperOption) and (param.is_flag or param.count) and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    """A typer command whose help shows flags as flags."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _blank_flag_types(super().get_params(ctx))


class Group(TyperGroup):
    """A typer group (the root command, ``genrekit models``) whose help shows flags as flags."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _blank_flag_types(super().get_params(ctx))


class Typer(typer.Typer):
    """``typer.Typer`` whose groups and commands are :class:`Group` and :class:`Command` unless told otherwise."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(name, cls=cls or Command, **kwargs)
