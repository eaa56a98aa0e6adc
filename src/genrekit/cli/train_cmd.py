"""``genrekit train``: fit a classifier on a labelled collection and write a model file.

The options build the typed config the Python API takes (see
:mod:`genrekit.cli.train_config`), so ``genrekit train`` and
``genrekit.training.train`` share every default.
"""

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from genrekit.cli.app import app
from genrekit.cli.choices import Aggregation, FineTune, Init, ModelKind, StopOn
from genrekit.cli.feature_sets import NO_HPSS_OPTIONS, feature_set_or_fail
from genrekit.cli.output import card_dict, console, esc, report_skipped, usage_error
from genrekit.cli.progress import cnn_progress, store_progress
from genrekit.cli.train_config import build_config, default_of, given_fields
from genrekit.models.cnn import TORCH_HINT


@app.command("train", context_settings={"allow_extra_args": True})
def train(
    ctx: typer.Context,
    source: Annotated[
        Path,
        typer.Argument(help="Labelled collection: GTZAN folder, folder per genre, or CSV manifest.", metavar="SOURCE"),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file to write.")] = Path("model.genre"),
    model: Annotated[
        ModelKind,
        typer.Option("--model", help="A classic estimator (svm, rf, logreg, knn, gbm), a spectrogram cnn, or an "
                                     "ensemble of model files."),
    ] = ModelKind.svm,
    feature_set: Annotated[
        Optional[str], typer.Option("--set", "-s", help="Feature set (default: default; see `genrekit features --list`).")
    ] = None,
    window: Annotated[
        Optional[float],
        typer.Option("--window", help="Window length in seconds (default 30; ensemble: whole files; a cnn's is its "
                                      "3 s patch); a track is cut into windows and their probabilities aggregated."),
    ] = None,
    hop: Annotated[
        Optional[float], typer.Option("--hop", help="Hop between windows in seconds (default: the window).")
    ] = None,
    aggregation: Annotated[
        Optional[Aggregation],
        typer.Option("--aggregation", help="How window probabilities make a track's (default: mean)."),
    ] = None,
    no_hpss: Annotated[
        bool, typer.Option("--no-hpss", help="gtzan57 without the (slow) harmonic/percussive columns.")
    ] = False,
    search: Annotated[
        bool, typer.Option("--search", help="Tune hyper-parameters by grouped cross-validation first.")
    ] = False,
    use_all: Annotated[
        bool, typer.Option("--all", help="Train on every file, ignoring the collection's splits (no validation).")
    ] = False,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed (default: 0).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Processes for feature extraction.")] = 1,
    cache_dir: Annotated[
        Optional[Path], typer.Option("--cache-dir", help="Feature cache (default: $GENREKIT_CACHE or ~/.cache/genrekit).")
    ] = None,
    init: Annotated[
        Optional[Init],
        typer.Option("--init", help="cnn: scratch (default: a small VGG on log-mel) or musicnn (fine-tune the "
                                    "pretrained musicnn)."),
    ] = None,
    epochs: Annotated[
        Optional[int],
        typer.Option("--epochs", min=1, help="cnn: most epochs (early stopping on the balanced accuracy of a fifth "
                                             "of the train tracks, held out; default 40)."),
    ] = None,
    stop_on: Annotated[
        Optional[StopOn],
        typer.Option("--stop-on", help="cnn: early stopping on held-out train tracks (default, train: the valid "
                                       "figures stay honest) or on the valid split (valid: optimistic)."),
    ] = None,
    fine_tune: Annotated[
        Optional[FineTune],  # type: ignore[valid-type]
        typer.Option("--fine-tune", help="cnn --init musicnn: how deep training reaches: head (default: a new genre "
                                         "head on frozen musicnn), backend, midend, or all (slow on a CPU)."),
    ] = None,
    members: Annotated[
        Optional[list[Path]],
        typer.Option("--members", help="ensemble: the model files to combine (--members A.genre B.genre ...)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the model card as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Train on the collection's train split, score its valid split, write one .genre file."""
    # deferred: keeps CLI start-up fast
    from genrekit.errors import GenrekitError
    from genrekit.training import train as run_train

    kind = model
    if ctx.args and kind is not ModelKind.ensemble:
        raise usage_error(f"unexpected argument(s): {' '.join(ctx.args)}")
    if kind is ModelKind.cnn and window is not None:
        raise usage_error("a cnn's window is its input patch (3 s); set the prediction hop with --hop")
    if fine_tune is not None and (kind is not ModelKind.cnn or (_value(init) or default_of(kind, "init")) != "musicnn"):
        raise usage_error("--fine-tune is for --model cnn --init musicnn")
    member_files = [*(members or []), *(Path(a) for a in ctx.args)]
    if no_hpss and kind not in (ModelKind.cnn, ModelKind.ensemble):
        feature_set_or_fail(feature_set or default_of(kind, "feature_set"), no_hpss=True)
    config = build_config(kind, given_fields(
        feature_set=("--set", feature_set),
        feature_options=("--no-hpss", NO_HPSS_OPTIONS if no_hpss else None),
        window=("--window", window),
        hop=("--hop", hop),
        aggregation=("--aggregation", _value(aggregation)),
        search=("--search", search or None),
        use_all=("--all", use_all or None),
        seed=("--seed", seed),
        init=("--init", _value(init)),
        epochs=("--epochs", epochs),
        stop_on=("--stop-on", _value(stop_on)),
        fine_tune=("--fine-tune", _value(fine_tune)),
        members=("--members", tuple(str(p) for p in member_files) or None),
    ))
    if kind is ModelKind.cnn:
        if not torch_installed():
            raise usage_error(TORCH_HINT)
        progress_cm = cnn_progress(quiet=quiet or as_json)
    else:
        progress_cm = store_progress("features", quiet=quiet or as_json)
    try:
        with progress_cm as progress:
            result = run_train(source, out, kind.value, config, cache_dir=cache_dir, jobs=jobs, progress=progress)
    except GenrekitError as error:
        raise usage_error(str(error)) from None

    card = card_dict(result.card)
    if as_json:
        print(json.dumps(card))
        return
    report_skipped(result.failures)
    _print_summary(result, card, kind, config)


def torch_installed() -> bool:
    """Whether torch can be imported (training a cnn needs it), without importing it."""
    import importlib.util  # only for --model cnn

    return importlib.util.find_spec("torch") is not None


def _value(choice: Enum | None) -> str | None:
    """An enum option's value, or None when the option was not given."""
    return None if choice is None else choice.value


def _print_summary(result: Any, card: dict[str, Any], kind: ModelKind, config: Any) -> None:
    """What was written, what it learned from, and its held-out scores (all from the card and the result)."""
    training = card["training"]
    if kind is ModelKind.cnn:
        described = f"cnn ({config.init}) on {card['feature_set']['name']}"
    elif kind is ModelKind.ensemble:
        described = f"ensemble of {len(config.members)} models"
    else:
        described = f"{kind.value} on {card['feature_set']['name']}"
    console.print(f"wrote [bold]{esc(str(result.path))}[/bold]: {esc(described)}, "
                  f"{training['n_tracks']} tracks / {training['n_windows']} windows")
    if result.search:
        console.print(f"search: best {result.search['best_params']} "
                      f"(grouped CV balanced accuracy {result.search['cv_balanced_accuracy']:.3f})", markup=False)
    if not result.validation:
        console.print("no valid split: nothing was held out (use a collection with splits to measure the model)")
        return
    m = result.validation["metrics"]
    console.print(f"valid split ({m['n_tracks']} tracks): accuracy {m['accuracy']:.3f}, "
                  f"balanced accuracy {m['balanced_accuracy']:.3f}, log loss {m['log_loss']:.3f}, ECE {m['ece']:.3f}")
    oof = result.validation.get("out_of_fold")
    if oof and "metrics" in oof:
        o = oof["metrics"]
        console.print(f"out of fold ({oof['folds']} grouped folds, weights refit per fold): accuracy "
                      f"{o['accuracy']:.3f}, balanced accuracy {o['balanced_accuracy']:.3f}, log loss {o['log_loss']:.3f}")
    elif oof:
        console.print(f"out of fold: skipped ({oof['skipped']})", markup=False)
