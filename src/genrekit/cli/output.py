"""What every command shares for printing: consoles, the progress bar, exit codes."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from rich.console import Console

console = Console(soft_wrap=True)
error_console = Console(stderr=True, soft_wrap=True)

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def exit_code_for(failures: int) -> int:
    """0 when everything worked, 1 when some inputs failed (the rest were processed)."""
    return EXIT_SOME_FAILED if failures else EXIT_OK


def progress_bar(quiet: bool) -> Any:
    """A rich progress bar on stderr: files done/total, files per second, elapsed, time left.

    Disabled when ``quiet`` or when stderr is not a terminal (logs stay clean).
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Files per second."""

        def render(self, task) -> Text:  # type: ignore[no-untyped-def]
            speed = task.finished_speed or task.speed
            return Text("-- files/s" if speed is None else f"{speed:.1f} files/s", style="progress.data.speed")

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=error_console,
        disable=quiet or not error_console.is_terminal,
    )


@contextmanager
def store_progress(description: str, *, quiet: bool = False) -> Iterator[Callable[[Any], None]]:
    """A progress bar fed by the feature store: yields the ``progress`` callback to pass it."""
    bar = progress_bar(quiet)
    with bar:
        task = bar.add_task(description, total=None)

        def update(p: Any) -> None:
            bar.update(task, completed=p.done, total=p.total)

        yield update


def fail(message: str, code: int = EXIT_USAGE) -> Exception:
    """Print ``error: message`` on stderr and return the ``typer.Exit`` to raise."""
    import typer

    error_console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def audio_files_or_fail(paths: list[Any]) -> list[Any]:
    """The audio files named by ``paths`` (folders searched recursively); none at all is a usage error."""
    from genrekit.audio import find_audio_files

    files = find_audio_files(paths)
    if not files:
        raise fail("no audio files found")
    return files


def report_failure(path: Any, error: Exception, as_json: bool) -> None:
    """One file failed: a JSON line ``{"path", "error"}`` on stdout, or a red line on stderr."""
    import json

    if as_json:
        print(json.dumps({"path": str(path), "error": str(error)}), flush=True)
    else:
        error_console.print(f"[red]failed:[/red] {error}", highlight=False)
