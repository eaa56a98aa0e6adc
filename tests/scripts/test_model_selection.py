"""scripts/cnn_results.py and scripts/train_bundled_model.py: how CNN runs are tabled and the bundled model chosen."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import cnn_results  # noqa: E402
import train_bundled_model  # noqa: E402


def _cnn(seed: int, bal: float, *, init: str = "musicnn", ms: float = 200.0, size: int = 1_500_000) -> dict:
    return {"kind": "cnn", "init": init, "fine_tune": "midend" if init == "musicnn" else None, "seed": seed,
            "valid_accuracy": bal + 0.1, "valid_balanced_accuracy": bal, "best_epoch": 3, "epochs_run": 9,
            "train_seconds": 600.0 + seed, "model_bytes": size, "ms_per_30s_clip": ms, "torch_threads": 2}


def _classic(bal: float, *, mb: float = 0.1, ms: float = 100.0) -> dict:
    return {"feature_set": "default", "window": "30 s", "model": "svm", "accuracy": bal, "balanced_accuracy": bal,
            "extract_ms_per_30s_clip": ms, "model_mb": mb}


def test_runs_of_one_configuration_share_a_row_with_mean_and_spread(tmp_path: Path):
    results = tmp_path / "r.json"
    for seed, bal in [(0, 0.6), (1, 0.7), (2, 0.8)]:
        cnn_results.upsert(_cnn(seed, bal), results)
    cnn_results.upsert(_cnn(1, 0.65), results)  # a rerun replaces the earlier run of that seed
    cnn_results.upsert(_cnn(0, 0.4, init="scratch"), results)
    page = tmp_path / "page.md"
    page.write_text(f"intro\n{cnn_results.BEGIN}\nSTALE TABLE\n{cnn_results.END}\noutro\n")
    cnn_results.render(results, page)
    text = page.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "STALE TABLE" not in text
    row = next(line for line in text.splitlines() if line.startswith("| CNN, --init musicnn"))
    assert "| 0, 1, 2 |" in row and "0.683 ± 0.104" in row and "0.600 / 0.650 / 0.800" in row
    assert "600 s–602 s" in row and "1.50 MB" in row
    assert any(line.startswith("| CNN, --init scratch") for line in text.splitlines())


def test_the_bundled_model_is_the_best_eligible_configuration_by_mean_over_seeds():
    cnn = [_cnn(0, 0.80), _cnn(1, 0.60), _cnn(2, 0.70)]  # mean 0.70
    entries = train_bundled_model.candidates([_classic(0.68), _classic(0.75, mb=4.0)], cnn)
    best = train_bundled_model.choose(entries, max_ms=600, max_model_mb=2.0)
    assert best["recipe"] == {"kind": "cnn", "init": "musicnn", "fine_tune": "midend"}
    assert best["balanced_accuracy"] == pytest.approx(0.70) and best["seeds"] == [0, 1, 2]
    # too slow: the classical row wins; the 4 MB row never does
    slow = train_bundled_model.candidates([_classic(0.68), _classic(0.75, mb=4.0)],
                                          [_cnn(s, 0.9, ms=900) for s in range(3)])
    assert train_bundled_model.choose(slow, max_ms=600, max_model_mb=2.0)["recipe"]["kind"] == "classic"
    # one lucky seed is not enough to be compared
    lucky = train_bundled_model.candidates([_classic(0.68)], [_cnn(0, 0.95)])
    assert [e["recipe"]["kind"] for e in lucky] == ["classic"]
    # an epoch chosen on valid is optimistic on valid: such runs are not compared
    optimistic = train_bundled_model.candidates([_classic(0.68)], [_cnn(s, 0.95) | {"stop_on": "valid"} for s in range(3)])
    assert [e["recipe"]["kind"] for e in optimistic] == ["classic"]
    # an ensemble is compared by its out-of-fold score, not by the valid score its weights were fit on
    ens = [{"kind": "ensemble", "recipe": "a + b", "seed": s, "valid_accuracy": 0.9, "valid_balanced_accuracy": 0.9,
            "oof_accuracy": 0.6, "oof_balanced_accuracy": 0.6, "ms_per_30s_clip": 100, "model_bytes": 1000}
           for s in range(3)]
    best = train_bundled_model.choose(train_bundled_model.candidates([_classic(0.68)], ens), 600, 2.0)
    assert best["recipe"]["kind"] == "classic"
    with pytest.raises(SystemExit, match="no configuration"):
        train_bundled_model.choose(slow, max_ms=10, max_model_mb=2.0)
