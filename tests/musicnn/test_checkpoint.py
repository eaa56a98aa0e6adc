"""The TensorFlow checkpoint reader, on a small checkpoint TensorFlow itself wrote (tests/musicnn/data/tiny_ckpt)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from genrekit.errors import ModelFileError
from genrekit.musicnn.checkpoint import CheckpointError, CheckpointReader, parse_entry, parse_fields

TINY = Path(__file__).resolve().parent / "data" / "tiny_ckpt"


def layer_name(i: int) -> str:
    return f"some/long/scope/name/for/compression/layer_{i:03d}/kernel"


def test_reads_every_variable_with_its_shape_dtype_and_values():
    reader = CheckpointReader(TINY / "ckpt")
    assert reader.num_shards == 1
    assert len(reader.names()) == 42
    for i in range(40):
        value = reader.read(layer_name(i))
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, np.arange(i % 5 + 1, dtype=np.float32) * (i + 1))
    ints = reader.read("ints")
    assert ints.dtype == np.int64
    np.testing.assert_array_equal(ints, np.arange(6).reshape(2, 3))
    f64 = reader.read("f64")
    assert f64.dtype == np.float64 and f64.shape == (2, 1)
    np.testing.assert_array_equal(f64, [[1.5], [-2.25]])


def test_shapes_come_from_the_index_alone():
    shapes = CheckpointReader(TINY / "ckpt").shapes()
    assert shapes["ints"] == (2, 3)
    assert shapes[layer_name(4)] == (5,)


def test_a_corrupted_tensor_fails_its_crc(tmp_path):
    shutil.copytree(TINY, tmp_path / "ckpt")
    reader = CheckpointReader(tmp_path / "ckpt" / "ckpt")
    entry = reader.entries["ints"]
    data = tmp_path / "ckpt" / "ckpt.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[entry.offset] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="CRC-32C mismatch in variable 'ints'"):
        reader.read("ints")
    # Without verification the (wrong) bytes come back.
    assert CheckpointReader(tmp_path / "ckpt" / "ckpt", verify=False).read("ints")[0, 0] != 0


def test_a_truncated_data_file_is_reported(tmp_path):
    shutil.copytree(TINY, tmp_path / "ckpt")
    data = tmp_path / "ckpt" / "ckpt.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:100])
    reader = CheckpointReader(tmp_path / "ckpt" / "ckpt")
    last = max(reader.entries.values(), key=lambda e: e.offset)
    assert last.offset + last.size > 100
    with pytest.raises(CheckpointError, match="truncated"):
        reader.read(last.name)


def test_missing_files_and_names_give_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint index not found"):
        CheckpointReader(tmp_path / "nothing")
    reader = CheckpointReader(TINY / "ckpt")
    with pytest.raises(CheckpointError, match="no variable 'nope'"):
        reader.read("nope")
    assert issubclass(CheckpointError, ModelFileError)


def test_a_damaged_index_is_rejected(tmp_path):
    index = tmp_path / "bad.index"
    index.write_bytes((TINY / "ckpt.index").read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="bad magic"):
        CheckpointReader(tmp_path / "bad")


def test_parse_fields_decodes_each_wire_type():
    # field 1 varint 150, field 2 bytes "hi", field 3 fixed32, field 4 fixed64
    buf = bytes([0x08, 0x96, 0x01, 0x12, 0x02]) + b"hi" + bytes([0x1D, 1, 0, 0, 0, 0x21]) + (7).to_bytes(8, "little")
    assert parse_fields(buf) == [(1, 0, 150), (2, 2, b"hi"), (3, 5, 1), (4, 1, 7)]


def test_unsupported_dtypes_and_sliced_variables_are_refused():
    string_entry = parse_entry("s", bytes([0x08, 7]))  # dtype DT_STRING
    with pytest.raises(CheckpointError, match="DT_STRING is not supported"):
        _ = string_entry.numpy_dtype
    sliced = parse_entry("p", bytes([0x08, 1, 0x3A, 0x00]))  # an (empty) slices field
    assert sliced.sliced
