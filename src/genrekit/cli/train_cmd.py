"""``genrekit train``: fit a classifier on a labelled collection and write a model file."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import typer

from genrekit.cli import app
from genrekit.cli.output import EXIT_USAGE, console, error_console, store_progress

MODELS = ("svm", "rf", "logreg", "knn", "gbm", "cnn", "ensemble")
INITS = ("scratch", "musicnn")


@app.command("train", context_settings={"allow_extra_args": True})
def train(
    ctx: typer.Context,
    source: Path = typer.Argument(..., help="Labelled collection: GTZAN folder, folder per genre, or CSV manifest."),
    out: Path = typer.Option(Path("model.genre"), "--out", "-o", help="Model file to write."),
    feature_set: str = typer.Option("default", "--set", "-s", help="Feature set (see `genrekit features --list`)."),
    model: str = typer.Option("svm", "--model", help=f"Classifier: {', '.join(MODELS)}."),
    window: Optional[float] = typer.Option(None, "--window", help="Window length in seconds (default 30; cnn: its 3 s patch; ensemble: whole files); a track is cut into windows and their probabilities aggregated."),
    hop: Optional[float] = typer.Option(None, "--hop", help="Hop between windows in seconds (default: the window)."),
    aggregation: str = typer.Option("mean", "--aggregation", help="How window probabilities make a track's: mean, logmean, vote."),
    no_hpss: bool = typer.Option(False, "--no-hpss", help="gtzan57 without the (slow) harmonic/percussive columns."),
    search: bool = typer.Option(False, "--search", help="Tune hyper-parameters by grouped cross-validation first."),
    use_all: bool = typer.Option(False, "--all", help="Train on every file, ignoring the collection's splits (no validation)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Processes for feature extraction."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Feature cache (default: $GENREKIT_CACHE or ~/.cache/genrekit)."),
    init: str = typer.Option("scratch", "--init", help="cnn: scratch (small VGG on log-mel) or musicnn (fine-tune the pretrained musicnn)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="cnn: most epochs (early stopping on the balanced accuracy of a fifth of the train tracks, held out; default 40)."),
    stop_on: str = typer.Option("train", "--stop-on", help="cnn: early stopping on held-out train tracks (train: the valid figures stay honest) or on the valid split (valid: optimistic)."),
    fine_tune: Optional[str] = typer.Option(None, "--fine-tune", help="cnn --init musicnn: how deep training reaches: head (default: a new genre head on frozen musicnn), backend, midend, or all (slow on a CPU)."),
    members: Optional[list[Path]] = typer.Option(None, "--members", help="ensemble: the model files to combine (--members A.genre B.genre ...)."),
    as_json: bool = typer.Option(False, "--json", help="Print the model card as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train on the collection's train split, score its valid split, write one .genre file."""
    from genrekit.errors import GenrekitError
    from genrekit.models.cnn import FINE_TUNE_LEVELS
    from genrekit.training import train as run_train

    if model not in MODELS:
        error_console.print(f"[red]error:[/red] unknown model {model!r}; choose from {', '.join(MODELS)}")
        raise typer.Exit(EXIT_USAGE)
    member_files = [*(members or []), *(Path(a) for a in ctx.args)] if model == "ensemble" else list(members or [])
    if ctx.args and model != "ensemble":
        error_console.print(f"[red]error:[/red] unexpected argument(s): {' '.join(ctx.args)}")
        raise typer.Exit(EXIT_USAGE)
    if model == "ensemble" and len(member_files) < 2:
        error_console.print("[red]error:[/red] --model ensemble needs at least two model files: --members A.genre B.genre ...")
        raise typer.Exit(EXIT_USAGE)
    if model == "cnn" and init not in INITS:
        error_console.print(f"[red]error:[/red] unknown --init {init!r}; choose from {', '.join(INITS)}")
        raise typer.Exit(EXIT_USAGE)
    if model == "cnn" and window is not None:
        error_console.print("[red]error:[/red] a cnn's window is its input patch (3 s); set the prediction hop with --hop")
        raise typer.Exit(EXIT_USAGE)
    if fine_tune is not None and (model != "cnn" or init != "musicnn" or fine_tune not in FINE_TUNE_LEVELS):
        error_console.print(f"[red]error:[/red] --fine-tune is for --model cnn --init musicnn, one of {', '.join(FINE_TUNE_LEVELS)}")
        raise typer.Exit(EXIT_USAGE)
    options = {"hpss": False} if no_hpss else {}
    cnn_config = {"stop_on": stop_on, **({"arch": {"fine_tune": fine_tune}} if fine_tune else {})} if model == "cnn" else None
    try:
        if model == "cnn":
            try:
                import torch  # noqa: F401
            except ImportError:
                error_console.print("[red]error:[/red] training a cnn needs torch: pip install 'genrekit[train]'")
                raise typer.Exit(EXIT_USAGE)
            progress_cm = cnn_progress(quiet=quiet or as_json)
        else:
            progress_cm = store_progress("features", quiet=quiet or as_json)
        with progress_cm as progress:
            result = run_train(
                source, out, feature_set=feature_set, feature_options=options, model=model,
                window=window if window is not None or model == "ensemble" else 30.0, hop=hop, aggregation=aggregation, search=search,
                use_all=use_all, seed=seed, cache_dir=cache_dir, jobs=jobs, progress=progress, init=init,
                epochs=epochs, members=member_files, cnn_config=cnn_config,
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
    described = {"cnn": f"cnn ({init}) on {result.card['feature_set']['name']}",
                 "ensemble": f"ensemble of {len(member_files)} models"}.get(model, f"{model} on {feature_set}")
    console.print(f"wrote [bold]{result.path}[/bold]: {described}, "
                  f"{training['n_tracks']} tracks / {training['n_windows']} windows")
    if result.search:
        console.print(f"search: best {result.search['best_params']} "
                      f"(grouped CV balanced accuracy {result.search['cv_balanced_accuracy']:.3f})")
    if result.validation:
        m = result.validation["metrics"]
        console.print(f"valid split ({m['n_tracks']} tracks): accuracy {m['accuracy']:.3f}, "
                      f"balanced accuracy {m['balanced_accuracy']:.3f}, log loss {m['log_loss']:.3f}, ECE {m['ece']:.3f}")
        oof = result.validation.get("out_of_fold")
        if oof and "metrics" in oof:
            o = oof["metrics"]
            console.print(f"out of fold ({oof['folds']} grouped folds, weights refit per fold): accuracy "
                          f"{o['accuracy']:.3f}, balanced accuracy {o['balanced_accuracy']:.3f}, log loss {o['log_loss']:.3f}")
        elif oof:
            console.print(f"out of fold: skipped ({oof['skipped']})")
    else:
        console.print("no valid split: nothing was held out (use a collection with splits to measure the model)")


@contextmanager
def cnn_progress(*, quiet: bool = False) -> Iterator[Callable[[Any], None]]:
    """A progress bar for CNN training: decoding, then each epoch's steps with the running loss and valid scores."""
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
                                        f"{m.get('accuracy', float('nan')):.3f}, balanced {m.get('balanced_accuracy', float('nan')):.3f}")

        yield update
