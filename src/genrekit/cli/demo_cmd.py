"""``genrekit demo``: classify the bundled example recordings and write an illustrated report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from genrekit.cli import app
from genrekit.cli.output import console, exit_code_for, fail, report_failure

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


@app.command("demo")
def demo(
    paths: Optional[list[Path]] = typer.Argument(None, help="Audio files or folders (default: the bundled examples)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="A .genre model file; default: the bundled model."),
    report: Path = typer.Option(Path("demo-report.html"), "--report", help="Where to write the HTML report."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file per line."),
) -> None:
    """Classify example recordings, print the genres, and write an HTML report that shows what was heard."""
    from genrekit.audio import find_audio_files, load_audio
    from genrekit.errors import GenrekitError
    from genrekit.predict import load_model
    from genrekit.features.timeline import frame_features
    from genrekit.report.demo import TrackView, render_demo_html

    try:
        classifier = load_model(model)
    except GenrekitError as error:
        raise fail(str(error)) from None
    files = find_audio_files(paths or [EXAMPLES])
    views, failures = [], 0
    for path in files:
        try:
            y = load_audio(path, sr=classifier.sample_rate)
            prediction = classifier.predict_signal(y, path)
            starts, probs = classifier.window_probabilities(y, path)
        except GenrekitError as error:
            failures += 1
            report_failure(path, error, as_json)
            continue
        if as_json:
            print(json.dumps(prediction.to_dict()))
        else:
            top = ", ".join(f"{g} {p:.2f}" for g, p in prediction.top(3))
            console.print(f"{path.name:45s} [bold]{prediction.genre:10s}[/bold] {prediction.confidence:.2f}   ({top})")
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
            console.print(f"report: [bold]{report}[/bold]")
    raise typer.Exit(exit_code_for(failures))
