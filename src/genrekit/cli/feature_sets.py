"""Feature sets by name for ``genrekit features`` and ``genrekit train``, with ``--no-hpss`` checked the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genrekit.cli.output import usage_error

if TYPE_CHECKING:
    from genrekit.features.base import FeatureSet

NO_HPSS_OPTIONS: dict[str, Any] = {"hpss": False}


def has_hpss_step(fs: "FeatureSet") -> bool:
    """Whether ``fs`` (or, for a combination such as ``gtzan57+musicnn``, one of its members) takes ``hpss``."""
    return "hpss" in fs.options() or any(has_hpss_step(m) for m in getattr(fs, "members", ()))


def feature_set_or_fail(name: str, *, no_hpss: bool = False) -> "FeatureSet":
    """The feature set ``name``, without HPSS for ``no_hpss``.

    An unknown name, or ``--no-hpss`` for a set without an HPSS step, is a usage error.
    """
    # deferred: keeps CLI start-up fast
    from genrekit.errors import GenrekitError
    from genrekit.features import get_feature_set

    try:
        fs = get_feature_set(name)
        if not no_hpss:
            return fs
        if not has_hpss_step(fs):
            raise usage_error(
                f"--no-hpss applies only to feature sets with an HPSS step (such as gtzan57); {name!r} has none"
            )
        return get_feature_set(name, **NO_HPSS_OPTIONS)
    except GenrekitError as error:
        raise usage_error(str(error)) from None
