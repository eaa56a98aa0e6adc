"""What every command shares for printing: consoles, progress bars, exit codes."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console

console = Console()
error_console = Console(stderr=True)

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2


def exit_code_for(failures: int) -> int:
    """0 when everything worked, 1 when some inputs failed (the rest were processed)."""
    return EXIT_SOME_FAILED if failures else EXIT_OK


@contextmanager
def progress_bar(description: str, total: int | None, *, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """A rich progress bar (done/total, rate, time left) on stderr; yields ``advance(n)``.

    Quiet runs, and runs whose stderr is not a terminal, get a no-op.
    """
    if quiet or not error_console.is_terminal:
        yield lambda n=1: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:  # type: ignore[override]
            return Text(f"{task.speed:.1f}/s" if task.speed else "?/s", style="progress.data.speed")

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
        console=error_console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)
