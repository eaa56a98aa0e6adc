"""``genrekit tags`` and ``genrekit models``, through typer's test runner."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from genrekit.cli import app

runner = CliRunner()


@pytest.fixture
def clip(write_audio):
    rng = np.random.default_rng(0)
    t = np.arange(22050 * 7) / 22050
    y = (0.4 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    return write_audio("clip.wav", y, 22050)


def test_tags_json_gives_tags_scores_and_a_timeline(clip, musicnn_dir, tmp_path):
    missing = tmp_path / "missing.wav"
    result = runner.invoke(app, ["tags", str(clip), str(missing), "--json", "--top-k", "3", "--data-dir", str(musicnn_dir)])
    assert result.exit_code == 1, result.output  # one file failed, the other was tagged
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    good, bad = lines
    assert bad["path"] == str(missing) and "not found" in bad["error"]
    assert good["model"] == "MSD_musicnn"
    assert len(good["tags"]) == 3
    assert [t["score"] for t in good["tags"]] == sorted((t["score"] for t in good["tags"]), reverse=True)
    assert good["tags"][0]["score"] == max(good["scores"].values())
    assert {t["category"] for t in good["tags"]} <= {"genre", "mood", "era", "instrument", "other"}
    assert len(good["scores"]) == 50
    assert len(good["timeline"]) == 2  # 7 s = two whole 3 s patches
    first = good["timeline"][0]
    assert first["start"] == 0.0 and first["end"] == pytest.approx(2.992)
    assert len(first["scores"]) == 50 and len(first["top"]) == 3
    mean = np.mean([p["scores"] for p in good["timeline"]], axis=0)
    assert mean.max() == pytest.approx(good["tags"][0]["score"], abs=1e-4)


def test_tags_table_output_with_the_mtt_model(clip, musicnn_dir):
    result = runner.invoke(app, ["tags", str(clip), "-m", "MTT_musicnn", "-k", "2", "--timeline", "--data-dir", str(musicnn_dir)])
    assert result.exit_code == 0, result.output
    assert "MTT_musicnn" in result.output and "0.00s" in result.output


def test_tags_with_a_vgg_network(clip, musicnn_dir):
    result = runner.invoke(app, ["tags", str(clip), "-m", "MTT_vgg", "--json", "-k", "2"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["model"] == "MTT_vgg" and len(record["scores"]) == 50 and len(record["timeline"]) == 2
    assert record["tags"][0]["category"] == "tag"  # MagnaTagATune tags have no categories


def test_tags_works_right_after_install_with_no_data_folder(clip, tmp_path):
    """A fresh user: empty HOME, no GENREKIT_DATA or XDG folders; the networks come with the package."""
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("GENREKIT_DATA", "XDG_DATA_HOME")}
    env["HOME"] = str(home)
    cli = [sys.executable, "-c", "from genrekit.cli import main; main()"]
    for model in ("MSD_musicnn", "MSD_vgg"):
        done = subprocess.run([*cli, "tags", str(clip), "--json", "-m", model], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["model"] == model
    # Nothing was installed for the user (onnxruntime keeps a device id under ~/.cache; genrekit writes nothing).
    assert not [p for p in home.rglob("*") if "genrekit" in p.name or p.suffix in (".onnx", ".npy", ".json")]


def test_tags_without_weights_tells_how_to_install(clip, tmp_path):
    result = runner.invoke(app, ["tags", str(clip), "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "genrekit models install musicnn" in result.output


def test_models_list(musicnn_dir, tmp_path):
    result = runner.invoke(app, ["models", "list", "--json", "--data-dir", str(musicnn_dir)])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert [m["name"] for m in listing["models"]] == ["MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg"]
    assert all(m["installed"] and m["bytes"] > 1_000_000 for m in listing["models"])
    empty = json.loads(runner.invoke(app, ["models", "list", "--json", "--data-dir", str(tmp_path)]).stdout)
    assert not any(m["installed"] for m in empty["models"])
    table = runner.invoke(app, ["models", "list", "--data-dir", str(tmp_path)])
    assert "genrekit models install musicnn" in table.output


def test_models_install_rejects_unknown_names_and_bad_wheels(tmp_path):
    result = runner.invoke(app, ["models", "install", "vggish"])
    assert result.exit_code == 2 and "'vggish' is not one of 'musicnn'" in result.output
    bad = tmp_path / "musicnn-0.1.0-py3-none-any.whl"
    bad.write_bytes(b"not a wheel")
    result = runner.invoke(app, ["models", "install", "musicnn", "--wheel", str(bad), "--data-dir", str(tmp_path / "out")])
    assert result.exit_code == 1 and "SHA-256" in result.output


def test_models_install_reuses_an_existing_install(musicnn_dir):
    result = runner.invoke(app, ["models", "install", "musicnn", "--data-dir", str(musicnn_dir)])
    assert result.exit_code == 0, result.output
    assert "already installed" in result.output


def test_tags_refuses_an_unknown_tagger(clip):
    result = runner.invoke(app, ["tags", str(clip), "-m", "VGGish"])
    assert result.exit_code == 2 and "'VGGish' is not one of" in result.output and "'MTT_musicnn'" in result.output
