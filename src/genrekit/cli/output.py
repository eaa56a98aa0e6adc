"""What every command shares for printing: the consoles, the exit codes, and how errors are reported.

Messages often carry file names, labels and the text of errors, none of
which may be read as rich markup (a file called ``[red].wav`` must print as
itself) or reach the terminal raw (an ESC sequence in a label could retitle
the window; a name that is not valid UTF-8 cannot be encoded at all). So
everything from outside passes :func:`shown` (control characters and
undecodable bytes made visible) and is then printed as
:class:`rich.text.Text` or through :func:`rich.markup.escape`.
"""

from __future__ import annotations

import re
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

console = Console(soft_wrap=True)
error_console = Console(stderr=True, soft_wrap=True)

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


# C0 and C1 controls, DEL, and the bidirectional overrides that make a name read backwards.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown(value: object) -> str:
    """``value`` as text safe for a terminal: undecodable bytes as ``\\xff``, controls as ``\\x1b``/``\\u202e``.

    File names come from the OS as ``str`` with surrogate escapes for bytes
    that are not UTF-8; those are turned back into the bytes and shown
    escaped, so the name printed is the name on disk, and printing never fails.
    """
    text = str(value)
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that did not come from a byte
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


def esc(value: object) -> str:
    """:func:`shown`, then escaped for a message that also holds rich markup of its own."""
    return escape(shown(value))


def plain(value: object) -> Any:
    """:func:`shown` as a rich ``Text``: a table cell or message part that is never read as markup."""
    from rich.text import Text

    return Text(shown(value))


def exit_code_for(failures: int) -> int:
    """0 when everything worked, 1 when some inputs failed (the rest were processed)."""
    return EXIT_SOME_FAILED if failures else EXIT_OK


def card_dict(card: Any) -> dict[str, Any]:
    """A model card as the JSON object it is stored as: a typed ``ModelCard`` (``to_json``) or a plain mapping."""
    return card.to_json() if hasattr(card, "to_json") else dict(card)


def print_error(message: str) -> None:
    """``error: message`` on stderr; ``message`` is printed as plain text, never as markup."""
    error_console.print(f"[red]error:[/red] {esc(message)}", highlight=False)


def usage_error(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr and return the exit (code 2) to raise: the one way to refuse input.

    ``raise usage_error(str(error)) from None`` turns a
    :class:`~genrekit.errors.GenrekitError` into a usage error without a
    traceback; anything else escaping a command is a bug and keeps its traceback.
    """
    print_error(message)
    return typer.Exit(EXIT_USAGE)


def audio_files_or_fail(paths: list[Any]) -> list[Any]:
    """The audio files named by ``paths`` (folders searched recursively); none at all is a usage error."""
    from genrekit.audio import find_audio_files

    files = find_audio_files(paths)
    if not files:
        raise usage_error("no audio files found")
    return files


def report_failure(path: Any, error: Exception, as_json: bool) -> None:
    """One file failed: a JSON line ``{"path", "error"}`` on stdout, or a red line on stderr."""
    import json

    if as_json:
        print(json.dumps({"path": str(path), "error": str(error)}), flush=True)
    else:
        error_console.print(f"[red]failed:[/red] {esc(error)}", highlight=False)


def report_skipped(failures: list[Any]) -> None:
    """Files a training or evaluation run could not read (and went on without), one yellow line each."""
    for failure in failures:
        error_console.print(f"[yellow]skipped:[/yellow] {esc(failure.path)}: {esc(failure.message)}",
                            highlight=False)
