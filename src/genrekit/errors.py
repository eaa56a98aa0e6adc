"""Typed errors.

Every error genrekit raises on bad input derives from :class:`GenrekitError`
and names the offending file, so a batch job can report it and go on.
"""

from __future__ import annotations

import os
from pathlib import Path


class GenrekitError(Exception):
    """Base class of every error genrekit raises on purpose."""


class AudioError(GenrekitError):
    """A file could not be turned into a usable signal."""

    reason = "audio error"

    def __init__(self, path: str | Path, detail: str = "") -> None:
        self.path = str(path)
        self.detail = detail
        message = f"{self.path}: {self.reason}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        # rebuilt from (path, detail), not from the message: errors cross process boundaries in worker pools
        return (type(self), (self.path, self.detail), dict(self.__dict__))


class AudioNotFoundError(AudioError, FileNotFoundError):
    reason = "file not found"


class UnsupportedAudioError(AudioError):
    reason = "not audio, or a format genrekit cannot decode"


class CorruptAudioError(AudioError):
    reason = "corrupt or truncated audio"


class EmptyAudioError(AudioError):
    reason = "no audio samples"


class AudioTooShortError(AudioError):
    reason = "audio shorter than one analysis window"


class NonFiniteAudioError(AudioError):
    reason = "audio contains NaN or infinite samples"


class AudioTooLongError(AudioError):
    reason = "audio longer than genrekit analyses this way"


class UnreadableAudioError(AudioError):
    """The file exists but cannot be opened: permission denied, a folder, a device."""

    reason = "cannot read the file"


class InputFailedError(AudioError):
    """Something unforeseen went wrong with one input (out of memory, a library's own exception).

    Raised at the file boundary in place of the original exception, so a
    batch reports the file and goes on; ``cause`` names what was caught.
    """

    reason = "processing failed"
    cause: BaseException | None = None


class ConfigError(GenrekitError, ValueError):
    """A setting is wrong: an unknown name (feature set, model kind, option) or a value out of range.

    A user's mistake, not a bug: the CLI reports it as a usage error (exit
    code 2). It is also a ``ValueError``, as Python callers expect of a bad
    argument.
    """


class ModelFileError(GenrekitError):
    """A model file is missing, corrupt, tampered with or incompatible."""


class DatasetError(GenrekitError):
    """A collection of labelled files could not be read."""


class GroupLeakError(GenrekitError, ValueError):
    """A split puts windows of one group (track or artist) on both sides."""


class FeatureMismatchError(GenrekitError, ValueError):
    """Input features do not have the shape the model was trained on."""


class FeatureTableError(GenrekitError):
    """A feature table is missing, unreadable or was not written by genrekit."""


class NonFiniteFeaturesError(GenrekitError):
    """A feature set returned NaN or infinite values for a file."""


class TagError(GenrekitError):
    """A file's tags could not be read or written (corrupt tags, a format without tags, a failed check)."""

    def __init__(self, path: str | os.PathLike[str], detail: str) -> None:
        self.path = os.fspath(path)
        self.detail = detail
        super().__init__(f"{self.path}: {detail}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.path, self.detail), dict(self.__dict__))


def as_input_error(path: str | os.PathLike[str], error: BaseException) -> GenrekitError:
    """``error`` as the typed error a batch reports for ``path``: genrekit's own as they are, anything else wrapped."""
    if isinstance(error, GenrekitError):
        return error
    if isinstance(error, MemoryError):
        detail = "out of memory while processing this file"
    else:
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    wrapped = InputFailedError(path, detail)
    wrapped.cause = error
    return wrapped
