"""``genrekit predict``, ``train``, ``evaluate`` and ``demo`` on a tiny collection."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from genrekit.cli import app
from synth import sine, white_noise

runner = CliRunner()


def test_predict_json_gives_one_line_per_file_and_an_error_line(tiny_model: Path, write_audio, tmp_path: Path):
    write_audio("music/a.wav", sine(330.0, seconds=2.0))
    write_audio("music/sub/b.flac", white_noise(seconds=2.0, seed=3))
    (tmp_path / "music" / "broken.mp3").write_bytes(b"\xff\xfb" + b"\x00" * 100)

    result = runner.invoke(app, ["predict", str(tmp_path / "music"), "--model", str(tiny_model), "--json"])

    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert len(lines) == 3
    by_name = {Path(line["path"]).name: line for line in lines}
    assert "error" in by_name["broken.mp3"]
    assert by_name["a.wav"]["genre"] == "tones"
    assert by_name["b.flac"]["genre"] == "noise"
    assert set(by_name["a.wav"]["probabilities"]) == {"noise", "tones"}


def test_predict_table_and_success_exit_code(tiny_model: Path, write_audio):
    path = write_audio("x.wav", sine(330.0, seconds=2.0))
    result = runner.invoke(app, ["predict", str(path), "-m", str(tiny_model), "--timeline"])
    assert result.exit_code == 0, result.output
    assert "tones" in result.stdout and "x.wav" in result.stdout


def test_predict_with_a_corrupt_model_is_a_usage_error(tmp_path: Path, write_audio):
    model = tmp_path / "bad.genre"
    model.write_bytes(b"PK\x03\x04 not really a zip")
    result = runner.invoke(app, ["predict", str(write_audio("x.wav", sine(330.0))), "-m", str(model)])
    assert result.exit_code == 2
    assert "bad.genre" in result.output


def test_train_then_evaluate_from_the_command_line(tiny_collection: Path, tmp_path: Path):
    out = tmp_path / "cli.genre"
    trained = runner.invoke(
        app, ["train", str(tiny_collection), "-o", str(out), "--set", "seed", "--model", "rf", "--window", "1", "-q"]
    )
    assert trained.exit_code == 0, trained.output
    assert out.is_file() and "valid split (4 tracks)" in trained.stdout

    report = tmp_path / "report.html"
    evaluated = runner.invoke(app, ["evaluate", str(out), str(tiny_collection), "--json", "--report", str(report)])
    assert evaluated.exit_code == 0, evaluated.output
    data = json.loads(evaluated.stdout)
    assert data["split"] == "valid" and data["metrics"]["n_samples"] == 4
    assert {"accuracy", "balanced_accuracy", "log_loss", "ece", "confusion", "per_class"} <= set(data["metrics"])
    assert "<html" in report.read_text().lower()


def test_train_rejects_an_unknown_model(tiny_collection: Path, tmp_path: Path):
    result = runner.invoke(app, ["train", str(tiny_collection), "--model", "magic", "-o", str(tmp_path / "m.genre")])
    assert result.exit_code == 2 and "unknown model" in result.output


def test_demo_writes_a_report_with_every_panel(tiny_model: Path, write_audio, tmp_path: Path):
    write_audio("demo/tone.wav", sine(330.0, seconds=3.0))
    report = tmp_path / "demo.html"
    result = runner.invoke(app, ["demo", str(tmp_path / "demo"), "-m", str(tiny_model), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "tone.wav" in result.stdout and "tones" in result.stdout
    page = report.read_text()
    assert page.count("data:image/png;base64,") == 1
    assert "tone.wav" in page
