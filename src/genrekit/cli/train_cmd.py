"""``genrekit train``: fit a classifier on a labelled collection and write a model file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from genrekit.cli import app
from genrekit.cli.output import EXIT_USAGE, console, error_console, store_progress

MODELS = ("svm", "rf", "logreg", "knn", "gbm")


@app.command("train")
def train(
    source: Path = typer.Argument(..., help="Labelled collection: GTZAN folder, folder per genre, or CSV manifest."),
    out: Path = typer.Option(Path("model.genre"), "--out", "-o", help="Model file to write."),
    feature_set: str = typer.Option("default", "--set", "-s", help="Feature set (see `genrekit features --list`)."),
    model: str = typer.Option("svm", "--model", help=f"Classifier: {', '.join(MODELS)}."),
    window: float = typer.Option(30.0, "--window", help="Window length in seconds; a track is cut into windows and their probabilities aggregated."),
    hop: Optional[float] = typer.Option(None, "--hop", help="Hop between windows in seconds (default: the window)."),
    aggregation: str = typer.Option("mean", "--aggregation", help="How window probabilities make a track's: mean, logmean, vote."),
    no_hpss: bool = typer.Option(False, "--no-hpss", help="gtzan57 without the (slow) harmonic/percussive columns."),
    search: bool = typer.Option(False, "--search", help="Tune hyper-parameters by grouped cross-validation first."),
    use_all: bool = typer.Option(False, "--all", help="Train on every file, ignoring the collection's splits (no validation)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Processes for feature extraction."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Feature cache (default: $GENREKIT_CACHE or ~/.cache/genrekit)."),
    as_json: bool = typer.Option(False, "--json", help="Print the model card as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train on the collection's train split, score its valid split, write one .genre file."""
    from genrekit.errors import GenrekitError
    from genrekit.training import train as run_train

    if model not in MODELS:
        error_console.print(f"[red]error:[/red] unknown model {model!r}; choose from {', '.join(MODELS)}")
        raise typer.Exit(EXIT_USAGE)
    options = {"hpss": False} if no_hpss else {}
    try:
        with store_progress("features", quiet=quiet or as_json) as progress:
            result = run_train(
                source, out, feature_set=feature_set, feature_options=options, model=model, window=window,
                hop=hop, aggregation=aggregation, search=search, use_all=use_all, seed=seed,
                cache_dir=cache_dir, jobs=jobs, progress=progress,
            )
    except (GenrekitError, ValueError) as error:
        error_console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(EXIT_USAGE)

    if as_json:
        print(json.dumps(result.card))
        return
    for failure in result.failures:
        error_console.print(f"[yellow]skipped:[/yellow] {failure.path}: {failure.message}")
    training = result.card["training"]
    console.print(f"wrote [bold]{result.path}[/bold]: {model} on {feature_set}, "
                  f"{training['n_tracks']} tracks / {training['n_windows']} windows")
    if result.search:
        console.print(f"search: best {result.search['best_params']} "
                      f"(grouped CV balanced accuracy {result.search['cv_balanced_accuracy']:.3f})")
    if result.validation:
        m = result.validation["metrics"]
        console.print(f"valid split ({m['n_tracks']} tracks): accuracy {m['accuracy']:.3f}, "
                      f"balanced accuracy {m['balanced_accuracy']:.3f}, log loss {m['log_loss']:.3f}, ECE {m['ece']:.3f}")
    else:
        console.print("no valid split: nothing was held out (use a collection with splits to measure the model)")
