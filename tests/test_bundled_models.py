"""The two bundled models: chosen by the documented two-way rule, refit on every clip, calibrated, within limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genrekit.models.bundle import load_model, read_card
from genrekit.predict import BUNDLED_NAMES, bundled_model_path
from genrekit.selection import MAX_MODEL_MB, TwoWayCandidate, choose_two_way

REPO = Path(__file__).resolve().parents[1]
TWO_WAY = REPO / "docs" / "results-two-way.json"


def test_gtzan_two_way_directions_score_every_clip_once_without_sharing_a_track(gtzan_root: Path):
    from genrekit.datasets import load_dataset
    from genrekit.evaluation import two_way_directions

    records = load_dataset(gtzan_root)
    directions = two_way_directions([r.split for r in records], [r.group for r in records])
    scored = sorted(i for _, _, idx in directions for i in idx.tolist())
    assert scored == list(range(len(records)))
    assert {name: len(idx) for name, _, idx in directions} == {
        "train->valid": sum(r.split == "valid" for r in records), "valid->train": sum(r.split == "train" for r in records)}


@pytest.mark.skipif(not TWO_WAY.exists(), reason="docs/results-two-way.json not generated (make results)")
def test_bundled_models_are_the_rules_choice_refit_on_everything_and_calibrated():
    result = json.loads(TWO_WAY.read_text())
    entries = [TwoWayCandidate.from_json(c) for c in result["candidates"]]
    chosen = dict(zip(BUNDLED_NAMES, choose_two_way(entries, replaced_ms=result["replaced"]["ms_per_clip"],
                                                    replaced_song_ms=result["replaced"].get("ms_per_song"))))
    for name in BUNDLED_NAMES:
        path = bundled_model_path(name)
        card = read_card(path)
        selection = card.extra["selection"]
        assert selection["configuration"] == chosen[name].name
        assert selection["role"] == name
        assert set(selection["selection_figures"]) == {"train->valid", "valid->train"}
        assert selection["mean_balanced_accuracy_both_directions"] == pytest.approx(chosen[name].score)
        fitted = [m.card for m in load_model(path).embedded_models()] or [card]  # an ensemble: its members
        for fit in fitted:  # a CNN learns from most clips and early-stops on the rest: together, every clip
            stopped = fit.training.extra.get("early_stopping", {}).get("n_tracks", 0)
            assert fit.training.split == "all"
            assert fit.training.n_tracks + stopped == sum(result["n_tracks"].values())
        assert card.calibration is not None and card.calibration.method == "temperature"
        assert path.stat().st_size <= MAX_MODEL_MB * 1e6
