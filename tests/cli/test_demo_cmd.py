"""``genrekit demo``: the genres of a few recordings and the illustrated HTML report."""

from __future__ import annotations

from pathlib import Path

from synth import sine


def test_demo_writes_a_report_with_every_panel(cli, cli_model: Path, write_audio, tmp_path: Path):
    """Moved here from tests/cli/test_predict_cmd.py."""
    write_audio("demo/tone.wav", sine(330.0, seconds=3.0))
    report = tmp_path / "demo.html"
    result = cli("demo", tmp_path / "demo", "-m", cli_model, "--report", report)
    assert result.exit_code == 0, result.output
    assert "tone.wav" in result.stdout and "tones" in result.stdout
    page = report.read_text()
    assert page.count("data:image/png;base64,") == 1
    assert "tone.wav" in page
