"""``genrekit demo``: classify the bundled example recordings and write an illustrated report."""

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from genrekit.cli.app import app
from genrekit.cli.output import console, exit_code_for, report_failure, shown, usage_error

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


@app.command("demo")
def demo(
    paths: Annotated[
        Optional[list[Path]],
        typer.Argument(help="Audio files or folders (default: the bundled examples).", metavar="PATH",
                       show_default=False),
    ] = None,
    model: Annotated[
        Optional[Path], typer.Option("--model", "-m", help="A .genre model file; default: the bundled model.")
    ] = None,
    report: Annotated[Path, typer.Option("--report", help="Where to write the HTML report.")] = Path("demo-report.html"),
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file per line.")] = False,
) -> None:
    """Classify example recordings, print the genres, and write an HTML report that shows what was heard."""
    # deferred: keeps CLI start-up fast
    from rich.text import Text

    from genrekit.audio import find_audio_files, load_audio
    from genrekit.errors import GenrekitError
    from genrekit.features.timeline import frame_features
    from genrekit.predict import load_model
    from genrekit.report.demo import TrackView, render_demo_html

    try:
        classifier = load_model(model)
    except GenrekitError as error:
        raise usage_error(str(error)) from None
    files = find_audio_files(paths or [EXAMPLES])
    views, failures = [], 0
    for path in files:
        try:
            y = load_audio(path, sr=classifier.sample_rate)
            starts, probs = classifier.window_probabilities(y, path)
            prediction = classifier.verdict(starts, probs, len(y) / classifier.sample_rate, path)
        except GenrekitError as error:
            failures += 1
            report_failure(path, error, as_json)
            continue
        if as_json:
            print(json.dumps(prediction.to_dict()))
        else:
            top = ", ".join(f"{g} {p:.2f}" for g, p in prediction.top(3))
            console.print(Text.assemble(f"{shown(path.name):45s} ", (f"{shown(prediction.genre):10s}", "bold"),
                                        f" {prediction.confidence:.2f}   ({shown(top)})"))
        views.append(
            TrackView(
                name=path.name, y=y, sr=classifier.sample_rate, frames=frame_features(y, classifier.sample_rate),
                prediction=prediction, labels=classifier.labels, window_starts=starts, window_probs=probs,
                window_length=classifier.windowing.window or len(y) / classifier.sample_rate,
            )
        )
    if views:
        report.write_text(render_demo_html(views, classifier.card))
        if not as_json:
            console.print(Text.assemble("report: ", (shown(report), "bold")))
    raise typer.Exit(exit_code_for(failures))
