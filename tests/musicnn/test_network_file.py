"""A network file is hostile data until checked: every refusal is a one-line ModelFileError, before onnxruntime runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from genrekit.errors import ModelFileError
from genrekit.musicnn import network_file
from genrekit.musicnn.model import Musicnn, clear_cache, load
from hostile import _external_data

NETWORK_FILES = ("MSD_vgg.onnx", "mel_basis.npy")


@pytest.fixture
def folder(musicnn_dir, tmp_path) -> Path:
    """A copy of the shipped MSD_vgg network and filter bank, with no manifest (so only the file checks apply)."""
    for name in NETWORK_FILES:
        shutil.copy(musicnn_dir / name, tmp_path / name)
    clear_cache()
    return tmp_path


def _edit(folder: Path, edit) -> Path:
    import onnx

    path = folder / "MSD_vgg.onnx"
    proto = onnx.load_model_from_string(path.read_bytes())
    edit(proto)
    path.write_bytes(proto.SerializeToString())
    return path


def _custom_domain(proto) -> None:
    proto.graph.node[-1].domain = "com.example.evil"
    proto.opset_import.add(domain="com.example.evil", version=1)


def _other_model(proto) -> None:
    for prop in proto.metadata_props:
        if prop.key == "genrekit.musicnn.model":
            prop.value = "MTT_vgg"


def _no_taggram(proto) -> None:
    proto.graph.output[0].name = "tags"


def _extra_input(proto) -> None:
    proto.graph.input.add().CopyFrom(proto.graph.input[0])
    proto.graph.input[1].name = "other"


@pytest.mark.parametrize("edit, message", [
    (_external_data, "stored as external data"),
    (_custom_domain, "operator domain"),
    (_other_model, "holds network 'MTT_vgg', not 'MSD_vgg'"),
    (_no_taggram, "outputs"),
    (_extra_input, "inputs"),
])
def test_a_doctored_network_is_refused_before_onnxruntime_sees_it(folder, monkeypatch, edit, message):
    _edit(folder, edit)

    def no_session(*args, **kwargs):
        raise AssertionError("onnxruntime must not see a refused file")

    monkeypatch.setattr("genrekit.musicnn.model.onnx_session", no_session)
    with pytest.raises(ModelFileError, match=message) as info:
        load("MSD_vgg", folder)
    assert "\n" not in str(info.value) and "MSD_vgg.onnx" in str(info.value)


@pytest.mark.parametrize("data", [b"", b"not onnx at all", b"\x0a\xff\xff\xff\xff\x0f", b"\x08" + b"\xff" * 11])
def test_garbage_is_not_a_network(folder, data):
    (folder / "MSD_vgg.onnx").write_bytes(data)
    with pytest.raises(ModelFileError):
        load("MSD_vgg", folder)


def test_a_huge_file_is_refused_unread(folder, monkeypatch):
    monkeypatch.setattr(network_file, "MAX_NETWORK_BYTES", 1000)
    with pytest.raises(ModelFileError, match="more than a musicnn network file can be"):
        Musicnn.from_file(folder / "MSD_vgg.onnx", "MSD_vgg")


def test_a_network_under_another_name_is_refused(folder):
    shutil.copy(folder / "MSD_vgg.onnx", folder / "MTT_vgg.onnx")
    with pytest.raises(ModelFileError, match="not 'MTT_vgg'"):
        load("MTT_vgg", folder)


@pytest.mark.parametrize("basis, message", [
    (np.array([object()], dtype=object), "not a readable mel filter bank"),
    (np.zeros((96, 100), np.float32), r"\(96, 257\) float32"),
    (np.zeros((96, 257), np.float64), r"\(96, 257\) float32"),
    (np.full((96, 257), np.nan, np.float32), "NaN"),
])
def test_a_bad_mel_filter_bank_is_refused(folder, basis, message):
    np.save(folder / "mel_basis.npy", basis, allow_pickle=True)
    with pytest.raises(ModelFileError, match=message):
        load("MSD_vgg", folder)


def test_the_checked_copy_runs_like_the_shipped_one(folder, msd_vgg):
    """The checks pass on the genuine file: the copy (no manifest beside it) gives the same numbers."""
    mel = np.random.default_rng(0).uniform(0, 3, (2, 187, 96)).astype(np.float32)
    copy = load("MSD_vgg", folder)
    np.testing.assert_array_equal(copy.run(mel)["taggram"], msd_vgg.run(mel)["taggram"])
    with pytest.raises(ValueError, match="takes patches of 187 frames"):
        copy.run(mel[:, :100])


def test_running_a_shipped_network_never_imports_onnx_or_librosa():
    import subprocess
    import sys

    code = ("import sys, numpy as np; from genrekit.musicnn.model import load; "
            "net = load('MTT_vgg'); net.analyze(np.zeros(16000 * 4, np.float32) + 0.1, 16000); "
            "print(sorted(m for m in ('onnx', 'librosa', 'numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
