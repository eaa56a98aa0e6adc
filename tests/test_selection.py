"""genrekit.selection: the documented rule that picks the bundled model, read from structured run records."""

from __future__ import annotations

from pathlib import Path

import pytest

from genrekit.comparison.configuration import Configuration, train_configuration
from genrekit.errors import ConfigError
from genrekit.selection import (
    NoEligibleCandidate,
    candidates,
    choose,
    left_out_because,
    run_candidate,
    selection_entry,
)

CLASSIC = {"kind": "classic", "model": "logreg", "feature_set": "default+musicnn", "window": 30.0}
CNN_MEMBER = {"kind": "cnn", "init": "musicnn", "fine_tune": "midend", "stop_on": "train"}


def _cnn(seed: int, bal: float, *, init: str = "musicnn", ms: float = 200.0, size: int = 1_500_000,
         stop_on: str = "train") -> dict:
    return {"kind": "cnn", "init": init, "fine_tune": "midend" if init == "musicnn" else "all", "seed": seed,
            "stop_on": stop_on, "valid_accuracy": bal + 0.1, "valid_balanced_accuracy": bal, "best_epoch": 3,
            "epochs_run": 9, "train_seconds": 600.0 + seed, "model_bytes": size, "ms_per_30s_clip": ms,
            "torch_threads": 2}


def _classic(bal: float, *, mb: float = 0.1, ms: float = 100.0, acc: float | None = None, model: str = "svm") -> dict:
    return {"feature_set": "default", "window": "30 s", "model": model, "accuracy": bal if acc is None else acc,
            "balanced_accuracy": bal, "extract_ms_per_30s_clip": ms, "model_mb": mb}


def _ensemble(seed: int, *, oof: float | None = 0.6, members: list | None = None, recipe: str = "a + b") -> dict:
    record = {"kind": "ensemble", "recipe": recipe, "seed": seed, "valid_accuracy": 0.9,
              "valid_balanced_accuracy": 0.9, "oof_accuracy": oof, "oof_balanced_accuracy": oof,
              "ms_per_30s_clip": 100, "model_bytes": 1000, "weights": [0.5, 0.5]}
    return record | ({"member_recipes": members} if members is not None else {})


def test_the_best_eligible_configuration_by_mean_over_seeds_wins():
    cnn = [_cnn(0, 0.80), _cnn(1, 0.60), _cnn(2, 0.70)]  # mean 0.70
    best = choose(candidates([_classic(0.68), _classic(0.75, mb=4.0)], cnn), max_ms=600, max_model_mb=2.0)
    assert best.configuration == Configuration.cnn("musicnn", "midend", "train")
    assert best.balanced_accuracy == pytest.approx(0.70) and best.accuracy == pytest.approx(0.80)
    assert best.seeds == (0, 1, 2) and best.model_mb == pytest.approx(1.5) and not best.out_of_fold


def test_limits_on_time_and_size_decide_eligibility():
    slow = candidates([_classic(0.68), _classic(0.75, mb=4.0)], [_cnn(s, 0.9, ms=900) for s in range(3)])
    best = choose(slow, max_ms=600, max_model_mb=2.0)
    assert best.configuration.is_classic and best.balanced_accuracy == 0.68  # the 4 MB row never wins
    assert choose(slow, max_ms=1000, max_model_mb=2.0).configuration.kind == "cnn"
    with pytest.raises(NoEligibleCandidate, match="no configuration"):
        choose(slow, max_ms=10, max_model_mb=2.0)


def test_ties_in_balanced_accuracy_go_to_accuracy():
    rows = [_classic(0.7, acc=acc, model=model) for model, acc in [("svm", 0.75), ("rf", 0.80), ("knn", 0.7)]]
    assert choose(candidates(rows, [])).configuration.kind == "rf"


def test_one_lucky_seed_is_not_enough():
    assert [e.configuration.kind for e in candidates([_classic(0.68)], [_cnn(0, 0.95), _cnn(1, 0.95)])] == ["svm"]
    assert len(candidates([], [_cnn(s, 0.95) for s in range(3)])) == 1
    assert len(candidates([], [_cnn(s, 0.95) for s in range(2)], min_seeds=2)) == 1


def test_runs_whose_epoch_was_chosen_on_valid_are_not_compared():
    optimistic = [_cnn(s, 0.95, stop_on="valid") for s in range(3)]
    assert [e.configuration.is_classic for e in candidates([_classic(0.68)], optimistic)] == [True]
    assert left_out_because(run_candidate(optimistic[0])) == "its epoch was chosen on the valid split"


def test_an_ensemble_is_compared_by_its_out_of_fold_score():
    ens = [_ensemble(s, members=[CLASSIC, CNN_MEMBER]) for s in range(3)]
    entries = candidates([_classic(0.68)], ens)
    ensemble = next(e for e in entries if e.configuration.kind == "ensemble")
    assert ensemble.out_of_fold and ensemble.balanced_accuracy == pytest.approx(0.6)
    assert choose(entries).configuration.is_classic
    without_oof = [_ensemble(s, oof=None, members=[CLASSIC, CNN_MEMBER]) for s in range(3)]
    assert [e.configuration.kind for e in candidates([], without_oof)] == []


def test_fields_decide_never_the_display_text():
    # the free-text recipe claims an epoch chosen on valid; the structured members say otherwise
    claim = "CNN with its epoch chosen on valid"
    honest = [_ensemble(s, members=[CLASSIC, CNN_MEMBER], recipe=claim) for s in range(3)]
    assert [e.configuration.kind for e in candidates([], honest)] == ["ensemble"]
    # and the reverse: an innocent text, a member that stopped on valid
    stopped = [_ensemble(s, members=[CLASSIC, CNN_MEMBER | {"stop_on": "valid"}]) for s in range(3)]
    assert candidates([], stopped) == []
    # an ensemble whose record does not say how to train its members cannot be chosen
    legacy = [_ensemble(s) for s in range(3)]
    assert candidates([], legacy) == []
    assert left_out_because(run_candidate(legacy[0])) == "its record does not say how to train its members"


def test_runs_of_different_configurations_are_not_pooled():
    runs = [_cnn(0, 0.9), _cnn(1, 0.9), _cnn(2, 0.9) | {"fine_tune": "head"}, _cnn(3, 0.5, init="scratch")]
    assert candidates([], runs, min_seeds=1) and len(candidates([], runs, min_seeds=1)) == 3
    assert candidates([], runs, min_seeds=3) == []


def test_configurations_are_read_the_same_from_records_recipes_and_cards():
    cnn = Configuration.from_record(_cnn(0, 0.5))
    assert Configuration.from_record(cnn.to_recipe()) == cnn
    card = {"model": {"kind": "cnn", "init": "musicnn", "fine_tune": "midend"},
            "training": {"early_stopping": {"on": "train"}}, "feature_set": {"name": "musicnn_mel"},
            "windowing": {"window": 3.0}}
    assert Configuration.from_card(card) == cnn
    old_card = card | {"training": {}}  # before early stopping had its own split, it stopped on valid
    assert Configuration.from_card(old_card).epoch_chosen_on_valid
    classic_card = {"model": {"kind": "logreg"}, "training": {}, "feature_set": {"name": "default+musicnn"},
                    "windowing": {"window": 30.0}}
    assert Configuration.from_card(classic_card) == Configuration.from_record(CLASSIC)
    ensemble = Configuration.from_record(_ensemble(0, members=[CLASSIC, CNN_MEMBER]))
    assert Configuration.from_record(ensemble.to_recipe()) == ensemble
    # scratch trains every layer: a record's fine_tune "all" or none is the same configuration
    assert Configuration.from_record(_cnn(0, 0.5, init="scratch")) == Configuration.cnn("scratch", None, "train")


def test_display_names_are_derived_from_the_fields():
    assert Configuration.from_record(_cnn(0, 0.5)).name == "CNN, --init musicnn, fine-tuned from the midend up"
    assert Configuration.cnn("musicnn", "head", "valid").name == (
        "CNN, --init musicnn, new head on frozen musicnn, epoch chosen on valid (optimistic)")
    assert Configuration.cnn("scratch", "all").name == "CNN, --init scratch"
    assert Configuration.from_row(_classic(0.5)).name == "svm on default, 30 s windows"
    ensemble = Configuration.from_record(_ensemble(0, members=[CLASSIC, CNN_MEMBER | {"stop_on": "valid"}]))
    assert ensemble.name == "ensemble (logreg on default+musicnn + CNN musicnn with its epoch chosen on valid)"
    assert Configuration.from_record(_ensemble(0, recipe="x + y")).name == "ensemble (x + y)"


def test_the_card_entry_records_the_rule_and_the_structured_choice():
    best = choose(candidates([_classic(0.68)], []))
    entry = selection_entry(best, 1, split="the valid split", max_ms=600, max_model_mb=2.0, trained_by="a test")
    assert entry["recipe"] == {"kind": "classic", "model": "svm", "feature_set": "default", "window": 30.0}
    assert entry["configuration"] == "svm on default, 30 s windows" and entry["trained_by"] == "a test"
    assert entry["seeds_compared"] == [0] and entry["valid_balanced_accuracy"] == 0.68
    assert "600 ms" in entry["why"] and "2 MB" in entry["why"]


def test_training_a_configuration_calls_train_with_its_typed_config(monkeypatch, tmp_path: Path):
    from genrekit import training
    from genrekit.trainers import ClassicConfig, CNNConfig, EnsembleConfig

    calls = []

    def fake_train(source, out, kind="svm", config=None, **run):
        calls.append((kind, config, run.get("card_extra")))
        Path(out).write_bytes(b"model")
        return kind

    monkeypatch.setattr(training, "train", fake_train)
    ensemble = Configuration.from_record(_ensemble(0, members=[CLASSIC, CNN_MEMBER]))
    assert train_configuration(ensemble, "collection", tmp_path / "e.genre", card_extra={"selection": 1}) == "ensemble"
    (classic_kind, classic_config, _), (cnn_kind, cnn_config, _), (kind, config, extra) = calls
    assert (classic_kind, classic_config) == ("logreg", ClassicConfig(feature_set="default+musicnn", window=30.0))
    assert (cnn_kind, cnn_config) == ("cnn", CNNConfig(init="musicnn", fine_tune="midend", stop_on="train"))
    assert kind == "ensemble" and isinstance(config, EnsembleConfig) and len(config.members) == 2
    assert extra == {"selection": 1}  # the card entry goes on the ensemble, not on its members
    with pytest.raises(ConfigError, match="do not say how to train its members"):
        train_configuration(Configuration.from_record(_ensemble(0)), "collection", tmp_path / "x.genre")


# ----------------------------------------------------------------------------- the two-way rule


def _two_way(name: str, forward: float, backward: float, *, ms: float = 100.0, mb: float = 0.5):
    from genrekit.selection import TwoWayCandidate

    recipe = {"kind": "logreg", "feature_set": name, "feature_options": {}, "window": 30.0}
    return TwoWayCandidate(recipe, {"train->valid": {"balanced_accuracy": forward, "accuracy": forward + 0.1},
                                    "valid->train": {"balanced_accuracy": backward, "accuracy": backward + 0.1}},
                           ms, mb)


def test_two_way_rule_ranks_by_the_mean_of_both_directions():
    from genrekit.selection import choose_two_way

    lucky_on_valid = _two_way("a", 0.80, 0.50)  # best on valid alone, mean 0.65
    steady = _two_way("b", 0.70, 0.68)  # mean 0.69
    default, accurate = choose_two_way([lucky_on_valid, steady], replaced_ms=100.0)
    assert default is steady and accurate is steady


def test_two_way_rule_limits_the_default_by_the_replaced_model_and_accurate_by_four_defaults():
    from genrekit.selection import choose_two_way

    fast = _two_way("fast", 0.70, 0.70, ms=100.0)
    slow = _two_way("slow", 0.80, 0.80, ms=300.0)
    too_slow = _two_way("too slow", 0.90, 0.90, ms=401.0)
    too_big = _two_way("big", 0.95, 0.95, ms=100.0, mb=5.0)
    default, accurate = choose_two_way([fast, slow, too_slow, too_big], replaced_ms=104.0)
    assert default is fast  # within 1.05 x 104 ms; "big" is over the file limit
    assert accurate is slow  # 3 x the default's cost; "too slow" is over 4 x
    with pytest.raises(NoEligibleCandidate):
        choose_two_way([slow], replaced_ms=100.0)


def test_two_way_ties_go_to_the_cheaper():
    from genrekit.selection import choose_two_way

    cheap = _two_way("cheap", 0.700, 0.700, ms=50.0)
    dear = _two_way("dear", 0.703, 0.703, ms=90.0)
    assert choose_two_way([dear, cheap], replaced_ms=100.0)[0] is cheap


def test_two_way_selection_entry_names_each_figure_by_its_direction():
    from genrekit.selection import recipe_name, two_way_selection_entry

    chosen = _two_way("musicnn", 0.7, 0.6)
    entry = two_way_selection_entry(chosen, "default", 12, replaced_ms=100.0, n_fit_clips=265)
    assert entry["configuration"] == recipe_name(chosen.recipe) == "logreg on musicnn, 30 s windows"
    assert entry["selection_figures"]["valid->train"]["measured_on"].startswith("fit on the valid split, scored on the train")
    assert entry["mean_balanced_accuracy_both_directions"] == pytest.approx(0.65)
    assert "265" in entry["final_fit"]
    mtt = {**chosen.recipe, "feature_options": {"model": "MTT_musicnn", "layers": ["penultimate"]}}
    ensemble = {"kind": "ensemble", "members": [chosen.recipe, mtt]}
    assert recipe_name(ensemble) == "ensemble (logreg on musicnn + logreg on musicnn (MTT_musicnn), equal weights)"
    both = {**chosen.recipe, "feature_set": "musicnn+musicnn",
            "feature_options": {"members": [{"model": "MSD_musicnn"}, {"model": "MTT_musicnn"}]}}
    assert recipe_name(both) == "logreg on musicnn+musicnn (MSD_musicnn + MTT_musicnn), 30 s windows"
