"""Train the two models genrekit ships, from GTZAN, reproducibly: ``make model``.

The candidates and their figures come from the two-way yardstick
(``scripts/two_way.py`` -> docs/results-two-way.json); the rule that picks
the default and the ``accurate`` model is :func:`genrekit.selection.choose_two_way`,
written down in docs/results.md before the comparison ran. Each chosen
configuration is then **refit on every labelled clip** (train + valid,
seed 0), given the temperature fit on its held-out predictions in both
directions (:mod:`genrekit.models.calibration`), and written to
``src/genrekit/data/models/{default,accurate}.genre`` with its selection
figures, named for the split each was measured on, in its card.

    python scripts/train_bundled_model.py --gtzan ../shared/gtzan [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from genrekit.datasets import Record, load_dataset
from genrekit.models.calibration import calibrate_file
from genrekit.predict import BUNDLED_DIR
from genrekit.selection import NoEligibleCandidate, TwoWayCandidate, choose_two_way, two_way_selection_entry
from genrekit.trainers import ClassicConfig, CNNConfig, EnsembleConfig
from genrekit.training import train

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from two_way import model_costs  # noqa: E402  (one way to time a model file: the yardstick's)


def train_recipe(recipe: Mapping[str, Any], records: Sequence[Record], out: Path, work: Path,
                 log: Callable[[str], None]) -> Path:
    """Fit ``recipe`` (a two-way candidate's) on every record: nothing held out."""
    kind = recipe["kind"]
    if kind == "ensemble":
        members = []
        for i, member in enumerate(recipe["members"]):
            log(f"  member {i}: {member['kind']} on {member.get('feature_set', member.get('init'))}")
            members.append(str(train_recipe(member, records, work / f"{out.stem}-member{i}.genre", work, log)))
        as_train = [replace(r, split="train") for r in records]  # equal weights: no split to fit them on
        # The members' longest window: memory stays bounded and `fast` coverage applies (window=None would read
        # whole files).
        train(as_train, out, "ensemble", EnsembleConfig(members=tuple(members), weighting="equal",
                                                         window=recipe.get("window")))
    elif kind == "cnn":
        train(list(records), out, "cnn", CNNConfig(init=recipe["init"], fine_tune=recipe.get("fine_tune"),
                                                    seed=recipe.get("seed", 0), use_all=True))
    else:
        config = ClassicConfig(feature_set=recipe["feature_set"], feature_options=dict(recipe.get("feature_options") or {}),
                               window=recipe.get("window"), seed=recipe.get("seed", 0), use_all=True,
                               search=bool(recipe.get("search", False)), calibrate=recipe.get("calibrate"),
                               tag_prior=bool(recipe.get("tag_prior", False)), prior_weight=recipe.get("prior_weight"))
        train(list(records), out, kind, config)
    return out


def shipped_prior(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """A tag-prior candidate's weight and temperature for the shipped model, fit (like every temperature) on both
    directions' held-out predictions: the CV inside one fit groups by clip, so one artist's clips sit on both sides
    and the weight it picks is too low for artists the model never heard (scripts/two_way.py)."""
    if not entry["recipe"].get("tag_prior"):
        return None
    return dict(entry["searched_params"]["all_held_out"]) | {
        "fit_on": "held-out predictions of both two-way directions (each direction's probe at its own C), like the "
                  "temperature; mean_balanced_accuracy_by_weight is therefore in-sample for the weight, not a "
                  "selection figure"}


def calibration_figures(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What the card says about the temperature: where it was fit, and the held-out ECE it gave."""
    cal = entry["calibration"]
    return {"ece_held_out_before": cal["pooled_before"]["ece"], "ece_held_out_after": cal["pooled_after_cross_fit"]["ece"],
            "per_direction": {name: {k: d[k] for k in ("ece", "ece_calibrated", "temperature_from_other_direction")}
                              for name, d in entry["directions"].items()},
            "ece_measured_as": "top-label, 15 bins, each direction tempered with the temperature fit on the other"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gtzan", type=Path, default=REPO.parent / "shared" / "gtzan")
    parser.add_argument("--two-way", type=Path, default=REPO / "docs" / "results-two-way.json")
    parser.add_argument("--out-dir", type=Path, default=BUNDLED_DIR)
    parser.add_argument("--threads", type=int, default=1, help="torch threads, for a CNN")
    parser.add_argument("--dry-run", action="store_true", help="print the ranking and the choice, train nothing")
    args = parser.parse_args()
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731

    result = json.loads(args.two_way.read_text())
    entries = [TwoWayCandidate.from_json(c) for c in result["candidates"]]
    replaced_ms = float(result["replaced"]["ms_per_clip"])
    replaced_song_ms = result["replaced"].get("ms_per_song")
    try:
        default, accurate = choose_two_way(entries, replaced_ms=replaced_ms, replaced_song_ms=replaced_song_ms)
    except NoEligibleCandidate as error:
        sys.exit(str(error))
    for e in sorted(entries, key=lambda e: -e.score)[:10]:
        mark = "D" if e is default else ("A" if e is accurate else " ")
        print(f"{mark} {e.score:.3f} mean bal  {e.ms_per_clip:6.0f} ms/clip  {e.ms_per_song or 0:6.0f} ms/song  "
              f"{e.model_mb:5.2f} MB  {e.name}", file=sys.stderr)
    if args.dry_run:
        return
    if any(e.recipe["kind"] == "cnn" or any(m["kind"] == "cnn" for m in e.recipe.get("members", ()))
           for e in (default, accurate)):
        import torch

        torch.set_num_threads(args.threads)
    records = [r for r in load_dataset(args.gtzan) if r.label is not None]
    by_name = {c["name"]: c for c in result["candidates"]}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fitted: dict[str, tuple[Path, float]] = {}
        for role, chosen in (("default", default), ("accurate", accurate)):
            entry = by_name[chosen.name]
            shipped = shipped_prior(entry)
            if chosen.name not in fitted:
                say(f"{role}: refitting {chosen.name} on all {len(records)} clips")
                recipe = chosen.recipe | ({"prior_weight": shipped["prior_weight"]} if shipped else {})
                raw = train_recipe(recipe, records, work / f"{role}-uncalibrated.genre", work, say)
                fitted[chosen.name] = (raw, *model_costs(raw))
            raw, ms, song_ms = fitted[chosen.name]
            selection = two_way_selection_entry(
                chosen, role, len(entries), replaced_ms=replaced_ms, n_fit_clips=len(records),
                ms_per_30s_clip=ms, ms_per_3min_song=song_ms, compared_in="docs/results.md, \"Two-way yardstick\" (scripts/two_way.py)",
                trained_by="make model (scripts/train_bundled_model.py), seed 0")
            temperature = shipped["temperature"] if shipped else entry["calibration"]["temperature_all_held_out"]
            out = args.out_dir / f"{role}.genre"
            calibrate_file(raw, out, temperature, figures=calibration_figures(entry), card_extra={"selection": selection | ({"tag_prior_shipped": shipped} if shipped else {})},
                           fit_on="held-out track verdicts of both two-way directions (fit on train, scored on valid; "
                                  "fit on valid, scored on train): never the clips a model was fit on")
            say(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {ms:.0f} ms per 30 s clip, {song_ms:.0f} ms per "
                f"3-minute song, T = {temperature:.3f}); "
                f"mean balanced accuracy of both directions {chosen.score:.3f}")


if __name__ == "__main__":
    main()
