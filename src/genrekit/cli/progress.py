"""Progress bars on stderr, fed by the library's ``progress`` callbacks.

They are disabled when asked to be quiet or when stderr is not a terminal, so
logs and pipes stay clean. rich.progress is imported only when a bar is made.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from genrekit.cli.output import error_console


def progress_bar(quiet: bool) -> Any:
    """A rich progress bar: files done/total, files per second, elapsed, time left."""
    # deferred: keeps CLI start-up fast
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

        def render(self, task: Any) -> Text:
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


@contextmanager
def cnn_progress(*, quiet: bool = False) -> Iterator[Callable[[Any], None]]:
    """A progress bar for CNN training: decoding, then each epoch's steps with the running loss and held-out scores."""
    # deferred: keeps CLI start-up fast
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=error_console,
                   disable=quiet or not error_console.is_terminal)
    with bar:
        task = bar.add_task("decoding", total=None, info="")
        last: dict[str, str] = {"valid": ""}

        def update(p: Any) -> None:
            if p.phase == "decode":
                bar.update(task, description="decoding", completed=p.step, total=p.steps)
            elif p.phase == "cache":
                bar.update(task, description="front-end (once)", completed=p.step, total=p.steps)
            elif p.phase == "train":
                bar.update(task, description=f"epoch {p.epoch}/{p.epochs}", completed=p.step, total=p.steps,
                           info=f"loss {p.loss:.3f} {last['valid']}")
            else:
                m = p.metrics or {}
                last["valid"] = f"| held-out bal. acc {m.get('balanced_accuracy', float('nan')):.3f}"
                bar.update(task, info=f"loss {p.loss:.3f} {last['valid']}")
                if not bar.disable:
                    error_console.print(f"epoch {p.epoch}: loss {p.loss:.3f}, held-out accuracy "
                                        f"{m.get('accuracy', float('nan')):.3f}, "
                                        f"balanced {m.get('balanced_accuracy', float('nan')):.3f}", highlight=False)

        yield update
