"""``genrekit predict`` on a tiny model: JSON lines, tables, timelines and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from genrekit.cli import app
from synth import sine, white_noise

runner = CliRunner()


def test_predict_json_gives_one_line_per_file_and_an_error_line(cli_model: Path, write_audio, tmp_path: Path):
    write_audio("music/a.wav", sine(330.0, seconds=2.0))
    write_audio("music/sub/b.flac", white_noise(seconds=2.0, seed=3))
    (tmp_path / "music" / "broken.mp3").write_bytes(b"\xff\xfb" + b"\x00" * 100)

    result = runner.invoke(app, ["predict", str(tmp_path / "music"), "--model", str(cli_model), "--json"])

    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert len(lines) == 3
    by_name = {Path(line["path"]).name: line for line in lines}
    assert "error" in by_name["broken.mp3"]
    assert by_name["a.wav"]["genre"] == "tones"
    assert by_name["b.flac"]["genre"] == "noise"
    assert set(by_name["a.wav"]["probabilities"]) == {"noise", "tones"}


def test_predict_table_and_success_exit_code(cli_model: Path, write_audio):
    path = write_audio("x.wav", sine(330.0, seconds=2.0))
    result = runner.invoke(app, ["predict", str(path), "-m", str(cli_model), "--timeline"])
    assert result.exit_code == 0, result.output
    assert "tones" in result.stdout and "x.wav" in result.stdout


def test_predict_with_a_corrupt_model_is_a_usage_error(tmp_path: Path, write_audio):
    model = tmp_path / "bad.genre"
    model.write_bytes(b"PK\x03\x04 not really a zip")
    result = runner.invoke(app, ["predict", str(write_audio("x.wav", sine(330.0))), "-m", str(model)])
    assert result.exit_code == 2
    assert "bad.genre" in result.output


def test_names_from_outside_print_as_text(cli_model: Path, write_audio, tmp_path: Path):
    write_audio("[red]odd.wav", sine(330.0, seconds=2.0))
    (tmp_path / "[b]broken.mp3").write_bytes(b"\xff\xfb" + b"\x00" * 100)
    result = runner.invoke(app, ["predict", str(tmp_path), "-m", str(cli_model), "--timeline"])
    assert result.exit_code == 1
    assert "[red]odd.wav" in result.stdout  # the timeline heading
    assert "[b]broken.mp3" in result.stderr
