"""The shipped networks, and the converter that makes them: manifest and licence, reproducibility, where genrekit looks."""

from __future__ import annotations

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
from genrekit.musicnn.manifest import sha256_file
from genrekit.musicnn.weights import load_weights, required_keys, shapes_for

SHIPPED_FILES = [f"{m}.onnx" for m in paths.MODELS] + ["mel_basis.npy", "LICENSE-musicnn.md", "manifest.json"]


def test_the_package_ships_every_network_with_manifest_and_isc_notice():
    folder = paths.PACKAGED_DIR
    assert sorted(p.name for p in folder.iterdir()) == sorted(SHIPPED_FILES)
    manifest = json.loads((folder / paths.MANIFEST).read_text())
    assert manifest["wheel_sha256"] == install_mod.WHEEL_SHA256
    assert manifest["converter_version"] == install_mod.CONVERTER_VERSION
    assert set(manifest["models"]) == set(paths.MODELS)
    for entry in [*manifest["models"].values(), manifest["mel_basis"]]:
        data = (folder / entry["file"]).read_bytes()
        assert sha256_file(folder / entry["file"]) == entry["sha256"] and entry["bytes"] == len(data)
    for model, entry in manifest["models"].items():
        assert entry["architecture"] == paths.architecture(model)
        assert entry["float16_kernels"] and set(entry["float16_error"]) == {"taggram", "penultimate", "max_pool", "mean_pool"}
    licence = (folder / paths.LICENSE_FILE).read_text()
    assert "Universitat Pompeu Fabra" in licence and "MSD_vgg.onnx" in licence
    assert "Permission to use, copy, modify, and/or distribute this software" in licence
    # Compact: all four networks and the filter bank in under 7 MB.
    assert sum((folder / f).stat().st_size for f in SHIPPED_FILES) < 7_000_000


def _measured_errors(manifest: dict) -> tuple[dict, list[float]]:
    """``manifest`` without its measured float16 errors, and those errors in order."""
    figures: list[float] = []
    for entry in manifest["models"].values():
        for output in entry.pop("float16_error", {}).values():
            figures += [float(v) for _, v in sorted(output.items())]
    return manifest, figures


def test_converting_the_wheel_reproduces_the_shipped_files_bit_for_bit(converted_dir):
    """The networks and the mel basis bit for bit; the manifest too, but for the float16 errors it measures.

    Those errors come from running float32 graphs, whose last digit depends on the CPU's kernels (AVX2 and
    AVX-512 round differently), so they are compared to 5 %.
    """
    for name in SHIPPED_FILES:
        converted, shipped = (converted_dir / name).read_bytes(), (paths.PACKAGED_DIR / name).read_bytes()
        if name == "manifest.json":
            (converted, got), (shipped, want) = (_measured_errors(json.loads(b)) for b in (converted, shipped))
            assert converted == shipped
            np.testing.assert_allclose(got, want, rtol=0.05)
        else:
            assert converted == shipped, name


@pytest.mark.parametrize("model", paths.MODELS)
def test_a_network_file_reads_back_into_the_checkpoints_weights(float32_weights, musicnn_dir, model):
    """load_weights (what --init musicnn starts from) undoes the graph's layout: float16 kernels come back rounded."""
    weights = load_weights(musicnn_dir / f"{model}.onnx")
    original = float32_weights[model]
    assert set(weights) == set(required_keys(model))
    for key, shape in shapes_for(model).items():
        assert weights[key].shape == shape
    halved = set(json.loads((musicnn_dir / "manifest.json").read_text())["models"][model]["float16_kernels"])
    for key, value in weights.items():
        assert value.dtype == np.float32
        layer = key.split(".")[0]
        if key.endswith(".kernel") and f"{layer}.W" in halved:
            np.testing.assert_array_equal(value, original[key].astype(np.float16).astype(np.float32), err_msg=key)
            assert not np.array_equal(value, original[key])
        else:
            np.testing.assert_array_equal(value, original[key], err_msg=key)


def test_the_mel_basis_is_librosas():
    import librosa

    from genrekit.musicnn.network_file import read_mel_basis

    basis = read_mel_basis(paths.PACKAGED_DIR / paths.MEL_BASIS_FILE)
    np.testing.assert_allclose(basis, librosa.filters.mel(sr=16000, n_fft=512, n_mels=96), rtol=1e-6)


def test_a_modified_network_is_caught_by_the_manifest(musicnn_dir, tmp_path):
    from genrekit.musicnn.model import clear_cache, load

    for name in SHIPPED_FILES:
        shutil.copy(musicnn_dir / name, tmp_path / name)
    data = bytearray((tmp_path / "MTT_vgg.onnx").read_bytes())
    data[-200] ^= 1  # a weight's bits: still a valid network, but not the shipped one
    (tmp_path / "MTT_vgg.onnx").write_bytes(bytes(data))
    clear_cache()
    with pytest.raises(ModelFileError, match="differs from the manifest"):
        load("MTT_vgg", tmp_path)
    basis = np.load(tmp_path / "mel_basis.npy")
    np.save(tmp_path / "mel_basis.npy", basis * np.float32(1.001))
    with pytest.raises(ModelFileError, match="mel_basis.npy: SHA-256"):
        load("MSD_musicnn", tmp_path)


def test_install_refuses_a_wheel_that_is_not_musicnn_0_1_0(tmp_path):
    fake = tmp_path / "musicnn-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("musicnn/__init__.py", "")
    with pytest.raises(InstallError, match="is not that of musicnn 0.1.0"):
        install(fake, tmp_path / "out")
    with pytest.raises(InstallError, match="wheel file not found"):
        install(tmp_path / "absent.whl", tmp_path / "out")
    assert not (tmp_path / "out" / "MSD_musicnn.onnx").exists()


def test_extract_checks_every_file_against_the_wheels_record(tmp_path):
    wheel = tmp_path / "w.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(install_mod.LICENSE_IN_WHEEL, "licence")
        z.writestr("musicnn/MSD_vgg/.index", b"index bytes")
        z.writestr("musicnn/MSD_vgg/.data-00000-of-00001", b"data bytes")
        z.writestr("musicnn-0.1.0.dist-info/RECORD", f"{install_mod.LICENSE_IN_WHEEL},sha256=wrong,7\n")
    with pytest.raises(InstallError, match="does not match the wheel's RECORD"):
        extract_checkpoints(wheel, tmp_path / "x", ["MSD_vgg"])
    (tmp_path / "notzip.whl").write_bytes(b"nope")
    with pytest.raises(InstallError, match="not a wheel"):
        extract_checkpoints(tmp_path / "notzip.whl", tmp_path / "x", ["MSD_vgg"])


def test_install_is_a_no_op_when_already_done(musicnn_dir, tmp_path):
    for name in SHIPPED_FILES:
        shutil.copy(musicnn_dir / name, tmp_path / name)
    lines: list[str] = []
    # The wheel path is never looked at: nothing to do.
    manifest = install(tmp_path / "no-such.whl", tmp_path, progress=lines.append)
    assert "already installed" in lines[0]
    assert set(manifest["models"]) == set(paths.MODELS)
    assert manifest["folder"] == str(tmp_path)
    # A folder of the first converter (float32 .npz files) is converted again.
    old = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**old, "converter_version": 1}))
    with pytest.raises(InstallError, match="wheel file not found"):
        install(tmp_path / "no-such.whl", tmp_path)


def test_a_failed_download_explains_what_to_do(monkeypatch, tmp_path):
    def fake_run(cmd, **kwargs):
        assert cmd[1:4] == ["-m", "pip", "download"] and "musicnn==0.1.0" in cmd and "--no-deps" in cmd
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for musicnn==0.1.0")

    monkeypatch.setattr(install_mod.subprocess, "run", fake_run)
    with pytest.raises(InstallError, match="--wheel FILE"):
        install(None, tmp_path / "out")


def test_where_networks_are_looked_for(monkeypatch, tmp_path, musicnn_dir):
    monkeypatch.setenv("GENREKIT_DATA", str(tmp_path / "root"))
    assert paths.install_dir() == tmp_path / "root" / "models" / "musicnn"
    # Nothing converted there: the package's own networks.
    assert paths.weights_file("MSD_vgg") == paths.PACKAGED_DIR / "MSD_vgg.onnx"
    assert set(paths.installed_models()) == set(paths.MODELS)
    # A conversion in the data folder comes first (with its mel filter bank beside it).
    converted = tmp_path / "root" / "models" / "musicnn"
    converted.mkdir(parents=True)
    shutil.copy(musicnn_dir / "MTT_vgg.onnx", converted / "MTT_vgg.onnx")
    assert paths.weights_file("MTT_vgg") == paths.PACKAGED_DIR / "MTT_vgg.onnx"  # no mel_basis.npy: not a network folder
    shutil.copy(musicnn_dir / "mel_basis.npy", converted / "mel_basis.npy")
    assert paths.weights_file("MTT_vgg") == converted / "MTT_vgg.onnx"
    monkeypatch.delenv("GENREKIT_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.install_dir() == tmp_path / "xdg" / "genrekit" / "models" / "musicnn"
    assert paths.install_dir(tmp_path / "explicit") == tmp_path / "explicit"
    # An explicit folder is the only place looked in.
    with pytest.raises(paths.MusicnnNotInstalledError, match="genrekit models install musicnn") as info:
        paths.weights_file("MSD_musicnn", tmp_path / "empty")
    assert isinstance(info.value, ModelFileError)
    with pytest.raises(ValueError, match="unknown musicnn model"):
        paths.weights_file("MSD_musicnn_big")
    assert [paths.architecture(m) for m in paths.MODELS] == ["musicnn", "musicnn", "vgg", "vgg"]
