"""``genrekit train``'s flags -> the typed config the Python API takes (``genrekit.trainers``).

Every config option of ``genrekit train`` defaults to "not given" (None, or
False for a flag); :func:`build_config` starts from the config class's own
defaults and replaces only the fields whose flags were given, so
``genrekit train`` and ``genrekit.training.train`` share every default. A flag
whose field the chosen model kind's config lacks (``--search`` for a cnn,
``--epochs`` for an svm...) is a usage error rather than silently ignored.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from genrekit.cli.choices import ModelKind
from genrekit.cli.output import usage_error


class Given(NamedTuple):
    """A flag the user gave: its name on the command line and the value for its config field."""

    flag: str
    value: Any


def given_fields(**flags: tuple[str, Any]) -> dict[str, Given]:
    """``field=(flag, value)`` pairs -> the fields whose flags were given (value not None)."""
    return {name: Given(flag, value) for name, (flag, value) in flags.items() if value is not None}


def config_type(kind: ModelKind) -> type:
    """The config class ``genrekit.training.train`` takes for ``kind`` (ClassicConfig, CNNConfig or EnsembleConfig)."""
    # deferred: keeps CLI start-up fast
    from genrekit.trainers import get_trainer

    return get_trainer(kind.value).config_type


def build_config(kind: ModelKind, given: dict[str, Given]) -> Any:
    """``config_type(kind)``'s defaults, with the given fields replaced; raises the usage error for foreign flags."""
    # deferred: keeps CLI start-up fast
    from genrekit.errors import GenrekitError

    cls = config_type(kind)
    known = {f.name for f in dataclasses.fields(cls)}
    foreign = [g.flag for name, g in given.items() if name not in known]
    if foreign:
        raise usage_error(f"{', '.join(foreign)} {'does' if len(foreign) == 1 else 'do'} not apply to "
                          f"--model {kind.value}")
    try:
        return dataclasses.replace(cls(), **{name: g.value for name, g in given.items()})
    except GenrekitError as error:
        raise usage_error(str(error)) from None


def default_of(kind: ModelKind, name: str) -> Any:
    """The default of field ``name`` of ``kind``'s config (e.g. a cnn's ``init``)."""
    return getattr(config_type(kind)(), name)
