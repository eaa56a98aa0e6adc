"""``genrekit train``: fit a classifier on a labelled collection and write a model file.

The options build the typed config the Python API takes (see
:mod:`genrekit.cli.train_config`), so ``genrekit train`` and
``genrekit.training.train`` share every default. ``--labels-from-tags``
reads the collection from a music library's own genre and artist tags
(:mod:`genrekit.library.taxonomy`), prints how it read them, and trains on
musicnn embeddings unless ``--set`` names other features.
"""

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from genrekit.cli.app import app
from genrekit.cli.choices import CLASSIC_KINDS, Aggregation, FineTune, Init, ModelKind, StopOn
from genrekit.cli.feature_sets import NO_HPSS_OPTIONS, feature_set_or_fail
from genrekit.cli.output import card_dict, console, error_console, esc, plain, report_skipped, usage_error
from genrekit.cli.progress import cnn_progress, progress_bar, store_progress
from genrekit.cli.train_config import build_config, default_of, given_fields
from genrekit.models.cnn import TORCH_HINT


@app.command("train", context_settings={"allow_extra_args": True})
def train(
    ctx: typer.Context,
    source: Annotated[
        Path,
        typer.Argument(help="Labelled collection: GTZAN folder, folder per genre, or CSV manifest; with "
                            "--labels-from-tags, a music library (folder).", metavar="SOURCE"),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file to write.")] = Path("model.genre"),
    model: Annotated[
        ModelKind,
        typer.Option("--model", help="A classic estimator (svm, rf, logreg, knn, gbm), a spectrogram cnn, or an "
                                     "ensemble of model files."),
    ] = ModelKind.svm,
    feature_set: Annotated[
        Optional[str], typer.Option("--set", "-s", help="Feature set (default: default; musicnn with "
                                                     "--labels-from-tags; see `genrekit features --list`).")
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
    no_calibrate: Annotated[
        bool, typer.Option("--no-calibrate", help="No sigmoid calibrators (logreg, knn, gbm): the estimator's own "
                                                  "probabilities.")
    ] = False,
    tag_prior: Annotated[
        bool, typer.Option("--tag-prior", help="Add musicnn's genre tags as a zero-shot prior to a classic model's "
                                               "verdict, weighted by grouped CV (needs tag scores: --set musicnn_tags).")
    ] = False,
    prior_weight: Annotated[
        Optional[float], typer.Option("--prior-weight", min=0.0, help="The tag prior's weight, instead of "
                                                                    "choosing it by grouped CV.")
    ] = None,
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
    labels_from_tags: Annotated[
        bool,
        typer.Option("--labels-from-tags", help="SOURCE is a music library: learn the genres its people tagged "
                                                "(spellings merged; genrekit's own tags left out), validating on "
                                                "artists the model did not train on."),
    ] = False,
    min_artists: Annotated[
        Optional[int],
        typer.Option("--min-artists", min=1, help="--labels-from-tags: leave out genres with fewer artists "
                                                  "(default 3)."),
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
    if min_artists is not None and not labels_from_tags:
        raise usage_error("--min-artists is for --labels-from-tags")
    if labels_from_tags and feature_set is None and kind in CLASSIC_KINDS:
        from genrekit.library.taxonomy import TAGS_FEATURE_SET  # deferred: keeps CLI start-up fast

        feature_set = TAGS_FEATURE_SET
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
        calibrate=("--no-calibrate", False if no_calibrate else None),
        tag_prior=("--tag-prior", tag_prior or None),
        prior_weight=("--prior-weight", prior_weight),
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
        if labels_from_tags:
            from genrekit.library.taxonomy import train_from_tags  # deferred: keeps CLI start-up fast

            taxonomy = _read_taxonomy(source, min_artists, seed, quiet=quiet or as_json)
            if not as_json:
                _print_taxonomy(taxonomy)
            with progress_cm as progress:
                result = train_from_tags(taxonomy, out, kind.value, config, library=source, cache_dir=cache_dir,
                                         jobs=jobs, progress=progress)
        else:
            with progress_cm as progress:
                result = run_train(source, out, kind.value, config, cache_dir=cache_dir, jobs=jobs,
                                   progress=progress)
    except GenrekitError as error:
        raise usage_error(str(error)) from None

    card = card_dict(result.card)
    if as_json:
        print(json.dumps(card))
        return
    report_skipped(result.failures)
    _print_summary(result, card, kind, config)


def _read_taxonomy(library: Path, min_artists: int | None, seed: int | None, *, quiet: bool) -> Any:
    """The library's taxonomy, read with a progress bar over its files' tags."""
    from genrekit.library.taxonomy import DEFAULT_MIN_ARTISTS, library_taxonomy  # deferred: CLI start-up

    bar = progress_bar(quiet)
    with bar:
        task = bar.add_task("reading tags", total=None)
        return library_taxonomy(library, min_artists=DEFAULT_MIN_ARTISTS if min_artists is None else min_artists,
                                seed=0 if seed is None else seed,
                                progress=lambda done, total: bar.update(task, completed=done, total=total))


def _print_taxonomy(taxonomy: Any) -> None:
    """How the tags were read: the labels, the spellings merged, the genres dropped, the files left out."""
    from rich.text import Text  # deferred: keeps CLI start-up fast

    summary = taxonomy.to_dict()
    console.print(f"labels from tags: {len(taxonomy.records)} files in {len(taxonomy.labels)} genres, "
                  f"{summary['splits']['train']['artists']} artists to train on, "
                  f"{summary['splits']['valid']['artists']} held out to validate on", highlight=False)
    for label, counts in summary["labels"].items():
        console.print(Text.assemble("  ", plain(label), f": {counts['files']} files, {counts['artists']} artists"))
    merged: dict[str, list[str]] = {}
    for spelling, label in taxonomy.renamed().items():
        merged.setdefault(label, []).append(spelling)
    for label, spellings in merged.items():
        console.print(Text.assemble("  spellings of ", plain(label), ": ", plain(", ".join(map(repr, spellings)))))
    for dropped in taxonomy.dropped:
        console.print(Text.assemble("  dropped ", plain(dropped.label), f": {dropped.artists} artist(s), "
                                    f"{dropped.files} file(s) (fewer than {taxonomy.min_artists} artists)"))
    if taxonomy.untagged:
        console.print(f"  {len(taxonomy.untagged)} files have no genre a person entered: "
                      "`genrekit tag` with this model can propose them one", highlight=False)
    for error in taxonomy.unreadable:
        error_console.print(f"[yellow]unreadable tags:[/yellow] {esc(error)}", highlight=False)


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
    prior = (card.get("model") or {}).get("tag_prior")
    if isinstance(prior, dict):
        tagged = prior.get("tags") or {}
        console.print(plain(f"tag prior: weight {prior.get('weight')} ({prior.get('chosen_by')}); "
                            f"tags speak for {len(tagged)} of {len(card.get('labels', []))} labels"))
    taxonomy = card.get("taxonomy")
    if isinstance(taxonomy, dict):
        console.print(plain(f"labels from {taxonomy.get('library', 'the library')}'s genre tags; "
                            f"{taxonomy.get('validation', '')}"))
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
