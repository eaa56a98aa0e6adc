"""``genrekit predict`` on a tiny model: JSON lines, tables, timelines and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from genrekit.cli import app
from synth import mixed_folder, sine, white_noise

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


def test_predict_jobs_2_json_lines_equal_jobs_1(cli_model: Path, write_audio, tmp_path: Path):
    folder = mixed_folder(write_audio, tmp_path)
    serial = runner.invoke(app, ["predict", str(folder), "-m", str(cli_model), "--json", "-j", "1"])
    parallel = runner.invoke(app, ["predict", str(folder), "-m", str(cli_model), "--json", "-j", "2"])
    assert serial.exit_code == parallel.exit_code == 1
    assert parallel.stdout == serial.stdout
    assert len(parallel.stdout.splitlines()) == 7 and parallel.stderr == ""


def test_predict_jobs_2_table_prints_every_file(cli_model: Path, write_audio, tmp_path: Path):
    folder = mixed_folder(write_audio, tmp_path)
    serial = runner.invoke(app, ["predict", str(folder), "-m", str(cli_model), "--timeline"])
    parallel = runner.invoke(app, ["predict", str(folder), "-m", str(cli_model), "--timeline", "-j", "2"])
    assert parallel.exit_code == 1
    assert (parallel.stdout, parallel.stderr) == (serial.stdout, serial.stderr)
    for name in [f"t{i}.wav" for i in range(3)] + [f"n{i}.flac" for i in range(3)]:
        assert name in parallel.stdout
    assert "broken.mp3" in parallel.stderr and "1 of 7 files failed" in parallel.stderr


def test_predict_jobs_must_be_positive(cli_model: Path, write_audio):
    result = runner.invoke(app, ["predict", str(write_audio("x.wav", sine(330.0))), "-m", str(cli_model), "-j", "0"])
    assert result.exit_code == 2


def test_coverage_fast_analyses_at_most_twelve_windows_and_full_every_one(cli_model: Path, write_audio):
    path = write_audio("long.wav", sine(330.0, seconds=12.0))  # 1 s windows every 0.5 s: 23 windows

    def coverage(*flags: str) -> dict:
        result = runner.invoke(app, ["predict", str(path), "-m", str(cli_model), "--json", *flags])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["coverage"]

    fast, full = coverage(), coverage("--coverage", "full")
    assert (fast["mode"], fast["windows"], fast["of"]) == ("fast", 12, 23)
    assert fast["starts"][0] == 0.0 and fast["starts"][-1] == full["starts"][-1]
    assert (full["mode"], full["windows"], full["of"]) == ("full", 23, 23)


def test_a_timeline_shows_every_window_unless_told_otherwise(cli_model: Path, write_audio):
    path = write_audio("long.wav", sine(330.0, seconds=12.0))
    lines = runner.invoke(app, ["predict", str(path), "-m", str(cli_model), "--timeline"]).stdout.splitlines()
    assert sum(" s  tones" in line for line in lines) == 23
    lines = runner.invoke(app, ["predict", str(path), "-m", str(cli_model), "--timeline", "--coverage", "fast"]
                          ).stdout.splitlines()
    assert sum(" s  tones" in line for line in lines) == 12
