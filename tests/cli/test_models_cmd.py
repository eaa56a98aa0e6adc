"""``genrekit models list``: the bundled genre models with cost and scores, beside the musicnn networks."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from genrekit.cli import app

runner = CliRunner()


def test_models_list_shows_both_bundled_models_with_cost_and_scores(tmp_path: Path, tiny_model: Path, monkeypatch):
    from bundled import make_bundled_pair

    make_bundled_pair(tmp_path / "bundled", tiny_model, monkeypatch)
    result = runner.invoke(app, ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)["bundled"]}
    assert set(rows) == {"default", "accurate"}
    assert rows["accurate"]["ms_per_30s_clip"] == 12.5
    assert rows["accurate"]["mean_balanced_accuracy"] == 0.8125
    assert rows["accurate"]["directions"]["valid->train"]["balanced_accuracy"] == 0.75
    assert rows["accurate"]["temperature"] == 3.0
    assert rows["default"]["configuration"] is None and rows["default"]["error"] is None

    table = runner.invoke(app, ["models", "list"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    line = next(line for line in table.stdout.splitlines() if "accurate" in line)
    for figure in ("logreg on seed", "12", "0.875", "0.750", "0.812"):
        assert figure in line


def test_models_list_says_when_a_bundled_model_is_missing(tmp_path: Path, tiny_model: Path, monkeypatch):
    from bundled import make_bundled_pair

    folder = make_bundled_pair(tmp_path / "bundled", tiny_model, monkeypatch)
    (folder / "accurate.genre").unlink()
    result = runner.invoke(app, ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)["bundled"]}
    assert "make model" in rows["accurate"]["error"] and rows["default"]["error"] is None
