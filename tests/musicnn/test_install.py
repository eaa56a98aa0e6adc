"""Converted weights on disk: install folder, manifest and licence, weight-file checks, where genrekit looks."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from genrekit.errors import ModelFileError
from genrekit.musicnn import installer as install_mod
from genrekit.musicnn import paths
from genrekit.musicnn.installer import InstallError, extract_checkpoints, install
from genrekit.musicnn.weights import EXPECTED_SHAPES, load_weights, required_keys, save_weights


def test_the_install_folder_holds_weights_manifest_and_isc_notice(musicnn_dir):
    manifest = json.loads((musicnn_dir / paths.MANIFEST).read_text())
    assert manifest["wheel_sha256"] == install_mod.WHEEL_SHA256
    for model in paths.MODELS:
        entry = manifest["models"][model]
        data = (musicnn_dir / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert entry["bytes"] == len(data)
    licence = (musicnn_dir / paths.LICENSE_FILE).read_text()
    assert "Universitat Pompeu Fabra" in licence
    assert "Permission to use, copy, modify, and/or distribute this software" in licence


def test_converted_weights_are_float32_in_musicnns_shapes(musicnn_dir):
    import librosa

    weights = load_weights(musicnn_dir / "MSD_musicnn.npz")
    assert set(weights) == set(required_keys())
    for key, shape in EXPECTED_SHAPES.items():
        assert weights[key].shape == shape
    assert all(v.dtype == np.float32 for v in weights.values())
    np.testing.assert_allclose(weights["mel_basis"], librosa.filters.mel(sr=16000, n_fft=512, n_mels=96), rtol=1e-6)
    # The two models share an architecture but not their weights.
    other = load_weights(musicnn_dir / "MTT_musicnn.npz")
    assert not np.allclose(weights["output.kernel"], other["output.kernel"])


def test_weight_files_are_checked_when_loaded(musicnn_dir, tmp_path):
    weights = load_weights(musicnn_dir / "MSD_musicnn.npz")
    missing = dict(weights)
    del missing["dense.bias"]
    save_weights(missing, tmp_path / "missing.npz")
    with pytest.raises(ModelFileError, match="missing musicnn arrays dense.bias"):
        load_weights(tmp_path / "missing.npz")

    reshaped = dict(weights, **{"output.kernel": np.zeros((200, 10), np.float32)})
    save_weights(reshaped, tmp_path / "shape.npz")
    with pytest.raises(ModelFileError, match="output.kernel has shape"):
        load_weights(tmp_path / "shape.npz")

    nan = dict(weights, **{"dense.bias": np.full(200, np.nan, np.float32)})
    save_weights(nan, tmp_path / "nan.npz")
    with pytest.raises(ModelFileError, match="NaN"):
        load_weights(tmp_path / "nan.npz")

    pickled = dict(weights, **{"dense.bias": np.array([object()], dtype=object)})
    np.savez(tmp_path / "pickled.npz", **pickled)
    with pytest.raises(ModelFileError, match="not a readable musicnn weight file"):
        load_weights(tmp_path / "pickled.npz")

    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError):
        load_weights(tmp_path / "junk.npz")
    with pytest.raises(ModelFileError, match="not found"):
        load_weights(tmp_path / "absent.npz")


def test_a_modified_weight_file_is_caught_by_the_manifest(musicnn_dir, tmp_path):
    from genrekit.musicnn.model import clear_cache, load

    shutil.copy(musicnn_dir / paths.MANIFEST, tmp_path / paths.MANIFEST)
    weights = load_weights(musicnn_dir / "MSD_musicnn.npz")
    weights["output.bias"] = weights["output.bias"] + 1.0  # still a valid file, but not the installed one
    save_weights(weights, tmp_path / "MSD_musicnn.npz")
    clear_cache()
    with pytest.raises(ModelFileError, match="differs from the install manifest"):
        load("MSD_musicnn", tmp_path)


def test_install_refuses_a_wheel_that_is_not_musicnn_0_1_0(tmp_path):
    fake = tmp_path / "musicnn-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("musicnn/__init__.py", "")
    with pytest.raises(InstallError, match="is not that of musicnn 0.1.0"):
        install(fake, tmp_path / "out")
    with pytest.raises(InstallError, match="wheel file not found"):
        install(tmp_path / "absent.whl", tmp_path / "out")
    assert not (tmp_path / "out" / "MSD_musicnn.npz").exists()


def test_extract_checks_every_file_against_the_wheels_record(tmp_path):
    wheel = tmp_path / "w.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(install_mod.LICENSE_IN_WHEEL, "licence")
        z.writestr("musicnn/MSD_musicnn/.index", b"index bytes")
        z.writestr("musicnn/MSD_musicnn/.data-00000-of-00001", b"data bytes")
        z.writestr("musicnn-0.1.0.dist-info/RECORD", f"{install_mod.LICENSE_IN_WHEEL},sha256=wrong,7\n")
    with pytest.raises(InstallError, match="does not match the wheel's RECORD"):
        extract_checkpoints(wheel, tmp_path / "x", ["MSD_musicnn"])
    (tmp_path / "notzip.whl").write_bytes(b"nope")
    with pytest.raises(InstallError, match="not a wheel"):
        extract_checkpoints(tmp_path / "notzip.whl", tmp_path / "x", ["MSD_musicnn"])


def test_install_is_a_no_op_when_already_done(musicnn_dir, tmp_path):
    for name in ("MSD_musicnn.npz", "MTT_musicnn.npz", paths.MANIFEST):
        shutil.copy(musicnn_dir / name, tmp_path / name)
    lines: list[str] = []
    # The wheel path is never looked at: nothing to do.
    manifest = install(tmp_path / "no-such.whl", tmp_path, progress=lines.append)
    assert "already installed" in lines[0]
    assert set(manifest["models"]) == set(paths.MODELS)
    assert manifest["folder"] == str(tmp_path)


def test_a_failed_download_explains_what_to_do(monkeypatch, tmp_path):
    def fake_run(cmd, **kwargs):
        assert cmd[1:4] == ["-m", "pip", "download"] and "musicnn==0.1.0" in cmd and "--no-deps" in cmd
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for musicnn==0.1.0")

    monkeypatch.setattr(install_mod.subprocess, "run", fake_run)
    with pytest.raises(InstallError, match="--wheel FILE"):
        install(None, tmp_path / "out")


def test_where_weights_are_looked_for(monkeypatch, tmp_path):
    monkeypatch.setenv("GENREKIT_DATA", str(tmp_path / "root"))
    assert paths.install_dir() == tmp_path / "root" / "models" / "musicnn"
    monkeypatch.delenv("GENREKIT_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.install_dir() == tmp_path / "xdg" / "genrekit" / "models" / "musicnn"
    assert paths.install_dir(tmp_path / "explicit") == tmp_path / "explicit"
    with pytest.raises(paths.MusicnnNotInstalledError, match="genrekit models install musicnn") as info:
        paths.weights_file("MSD_musicnn", tmp_path / "empty")
    assert isinstance(info.value, ModelFileError)
    with pytest.raises(ValueError, match="unknown musicnn model"):
        paths.weights_file("MSD_vgg")


def test_weights_shipped_in_the_package_are_found(monkeypatch, tmp_path, musicnn_dir):
    monkeypatch.setenv("GENREKIT_DATA", str(tmp_path / "nothing-here"))
    monkeypatch.setattr(paths, "PACKAGED_DIR", Path(musicnn_dir))
    assert paths.weights_file("MSD_musicnn") == Path(musicnn_dir) / "MSD_musicnn.npz"
    assert set(paths.installed_models()) == set(paths.MODELS)
