"""genrekit.comparison: the classical comparison loop, CNN run records and their table, the results page's sections."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from genrekit.comparison import classic, runs
from genrekit.comparison.page import markers, write_section
from genrekit.errors import DatasetError

ROW_KEYS = {"feature_set", "window", "model", "accuracy", "balanced_accuracy", "macro_f1", "log_loss", "ece",
            "window_balanced_accuracy", "n_train_windows", "n_valid_tracks", "fit_seconds",
            "extract_ms_per_30s_clip", "model_mb"}


def _cnn(seed: int, bal: float, *, init: str = "musicnn") -> dict:
    return {"kind": "cnn", "init": init, "fine_tune": "midend" if init == "musicnn" else "all", "seed": seed,
            "stop_on": "train", "valid_accuracy": bal + 0.1, "valid_balanced_accuracy": bal, "best_epoch": 3,
            "epochs_run": 9, "train_seconds": 600.0 + seed, "model_bytes": 1_500_000, "ms_per_30s_clip": 200.0,
            "torch_threads": 2}


@pytest.fixture(scope="module")
def comparison(tiny_collection: Path) -> classic.Comparison:
    """Two estimators on ``seed`` features of 1 s windows (the clips are 2 s), with the leakage demonstration."""
    return classic.compare(tiny_collection, sets=["seed"], models=["logreg", "svm"], windows=[1.0],
                           leak=("seed", 1.0, "logreg"))


def test_every_cell_is_trained_and_scored_per_track_on_valid(comparison: classic.Comparison):
    assert [(r["feature_set"], r["window"], r["model"]) for r in comparison.rows] == [
        ("seed", "1 s", "logreg"), ("seed", "1 s", "svm")]
    for row in comparison.rows:
        assert set(row) == ROW_KEYS
        assert row["accuracy"] == 1.0 and row["balanced_accuracy"] == 1.0  # tones vs noise
        assert row["n_valid_tracks"] == 4 and row["n_train_windows"] == 16  # 8 train tracks x two 1 s windows
        assert row["fit_seconds"] > 0 and row["extract_ms_per_30s_clip"] > 0 and row["model_mb"] >= 0
    assert (comparison.n_train_tracks, comparison.n_valid_tracks) == (8, 4)


def test_the_leak_demonstration_runs_on_its_cell(comparison: classic.Comparison):
    leaks = comparison.leaks
    assert (leaks["feature_set"], leaks["window"], leaks["model"], leaks["n_tracks"]) == ("seed", "1 s", "logreg", 12)
    assert set(leaks["protocols"]) == {"random 5-fold CV over windows", "5-fold CV grouped by track",
                                       "artist-disjoint train -> valid"}
    assert all(0.9 <= s["balanced_accuracy"] <= 1.0 for s in leaks["protocols"].values())


def test_the_section_bolds_the_best_row_and_explains_the_leak(comparison: classic.Comparison):
    rows = [dict(r) for r in comparison.rows]
    rows[1]["balanced_accuracy"] = 1.5  # make svm the unambiguous best
    text = classic.markdown(classic.Comparison(rows, 8, 4, comparison.leaks))
    assert "| **seed** | 1 s | **svm** |" in text and "| seed | 1 s | logreg |" in text
    assert "**svm on seed, 1 s windows**" in text and "(8 tracks here)" in text
    assert "### What a leaky split would have reported" in text and "the same 12 clips" in text
    assert "leaky" not in classic.markdown(classic.Comparison(rows, 8, 4))


def test_a_collection_without_a_valid_split_is_refused(tiny_collection: Path, tmp_path: Path):
    rows = list(csv.DictReader(tiny_collection.open()))
    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r | {"path": str(tiny_collection.parent / r["path"]), "split": "train"} for r in rows)
    with pytest.raises(DatasetError, match="train and valid splits"):
        classic.compare(manifest, sets=["seed"], models=["logreg"], windows=[1.0])


def test_runs_of_one_configuration_share_a_row_with_mean_and_spread(tmp_path: Path):
    results = tmp_path / "r.json"
    for seed, bal in [(0, 0.6), (1, 0.7), (2, 0.8)]:
        runs.upsert(_cnn(seed, bal), results)
    runs.upsert(_cnn(1, 0.65), results)  # a rerun replaces the earlier run of that seed
    runs.upsert(_cnn(0, 0.4, init="scratch"), results)
    runs.upsert(_cnn(0, 0.5) | {"fine_tune": "head"}, results)  # another configuration: not replaced, another row
    page = tmp_path / "page.md"
    begin, end = markers(runs.SECTION)
    page.write_text(f"intro\n{begin}\nSTALE TABLE\n{end}\noutro\n")
    write_section(page, runs.SECTION, runs.render_table(json.loads(results.read_text())))
    text = page.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "STALE TABLE" not in text
    row = next(line for line in text.splitlines() if line.startswith("| CNN, --init musicnn, fine-tuned"))
    assert "| 0, 1, 2 |" in row and "0.683 ± 0.104" in row and "0.600 / 0.650 / 0.800" in row
    assert "600 s–602 s" in row and "1.50 MB" in row
    assert any(line.startswith("| CNN, --init scratch |") for line in text.splitlines())
    assert any(line.startswith("| CNN, --init musicnn, new head on frozen musicnn | 0 |") for line in text.splitlines())
    assert "- CNN, --init musicnn, fine-tuned from the midend up, seed 1: accuracy 0.750, balanced 0.650; " \
           "best epoch 3 of 9; 2 torch thread(s)." in text


def test_a_page_without_the_section_gets_it_appended(tmp_path: Path):
    page = tmp_path / "results.md"
    write_section(page, "x", "first")
    assert page.read_text() == "# Results\n\n<!-- x:begin -->\n\nfirst\n\n<!-- x:end -->\n"
    write_section(page, "y", "other")
    write_section(page, "x", "second\n")
    text = page.read_text()
    assert "first" not in text and text.index("second") < text.index("other")


def test_figures_print_one_aligned_line_each():
    assert runs.figures_text({"seed": 0, "balanced": 0.5}) == "    seed: 0\nbalanced: 0.5"
