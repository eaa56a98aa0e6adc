"""``genrekit evaluate``: metrics as JSON or tables, the HTML report, and its usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_evaluate_json_and_report(cli, cli_model: Path, tiny_collection: Path, tmp_path: Path):
    """Moved here from tests/cli/test_predict_cmd.py (the evaluate half of test_train_then_evaluate_from_the_command_line)."""
    report = tmp_path / "report.html"
    evaluated = cli("evaluate", cli_model, tiny_collection, "--json", "--report", report)
    assert evaluated.exit_code == 0, evaluated.output
    data = json.loads(evaluated.stdout)
    assert data["split"] == "valid" and data["metrics"]["n_samples"] == 4
    assert {"accuracy", "balanced_accuracy", "log_loss", "ece", "confusion", "per_class"} <= set(data["metrics"])
    assert data["failures"] == []
    assert "<html" in report.read_text().lower()


def test_evaluate_tables(cli, cli_model: Path, tiny_collection: Path):
    result = cli("evaluate", cli_model, tiny_collection, "--split", "all", "-q")
    assert result.exit_code == 0, result.output
    assert "all split, 12 tracks" in result.stdout
    assert "noise" in result.stdout and "tones" in result.stdout and "confusion" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--split", "test"], "no records in split 'test'"),
        (["--split", "holdout"], "'holdout' is not one of"),
    ],
)
def test_usage_errors_exit_2(cli, cli_model: Path, tiny_collection: Path, args, message):
    result = cli("evaluate", cli_model, tiny_collection, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_corrupt_model_is_a_usage_error_naming_it(cli, tiny_collection: Path, tmp_path: Path):
    model = tmp_path / "[bad].genre"
    model.write_bytes(b"PK\x03\x04 not really a zip")
    result = cli("evaluate", model, tiny_collection)
    assert result.exit_code == 2
    assert "[bad].genre" in result.stderr
