"""Read TensorFlow (V2 "tensor bundle") checkpoints without TensorFlow.

A checkpoint ``PREFIX`` is two files: ``PREFIX.index``, an SSTable (see
:mod:`genrekit.musicnn.sstable`) mapping each variable name to a serialized
``BundleEntryProto``, and ``PREFIX.data-00000-of-00001`` holding the raw
little-endian tensor bytes the entries point at. The key ``""`` holds a
``BundleHeaderProto`` (shard count, endianness). The few protobuf fields
needed are decoded by hand so that neither ``tensorflow`` nor ``protobuf``
generated classes are needed::

    BundleHeaderProto  { int32 num_shards = 1; Endianness endianness = 2; ... }
    BundleEntryProto   { DataType dtype = 1; TensorShapeProto shape = 2; int32 shard_id = 3;
                         int64 offset = 4; int64 size = 5; fixed32 crc32c = 6;
                         repeated TensorSliceProto slices = 7; }
    TensorShapeProto   { repeated Dim dim = 2; bool unknown_rank = 3; }   Dim { int64 size = 1; string name = 2; }
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genrekit.errors import ModelFileError
from genrekit.musicnn.sstable import TableFormatError, crc32c, mask_crc, read_table, read_varint

# TensorFlow DataType enum values (tensorflow/core/framework/types.proto) -> numpy.
_DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),  # DT_FLOAT
    2: np.dtype("<f8"),  # DT_DOUBLE
    3: np.dtype("<i4"),  # DT_INT32
    4: np.dtype("u1"),  # DT_UINT8
    5: np.dtype("<i2"),  # DT_INT16
    6: np.dtype("i1"),  # DT_INT8
    9: np.dtype("<i8"),  # DT_INT64
    10: np.dtype("?"),  # DT_BOOL
    17: np.dtype("<u2"),  # DT_UINT16
    19: np.dtype("<f2"),  # DT_HALF
    22: np.dtype("<u4"),  # DT_UINT32
    23: np.dtype("<u8"),  # DT_UINT64
}
_DTYPE_NAMES = {7: "DT_STRING", 14: "DT_BFLOAT16", 8: "DT_COMPLEX64", 20: "DT_RESOURCE", 21: "DT_VARIANT"}


class CheckpointError(ModelFileError):
    """A TensorFlow checkpoint is missing, corrupt, or uses a feature this reader does not handle."""


@dataclass(frozen=True)
class TensorEntry:
    """Where one variable lives in the data file, and what it is."""

    name: str
    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int | None
    sliced: bool

    @property
    def numpy_dtype(self) -> np.dtype:
        try:
            return _DTYPES[self.dtype]
        except KeyError:
            kind = _DTYPE_NAMES.get(self.dtype, f"DataType {self.dtype}")
            raise CheckpointError(f"tensor {self.name!r}: {kind} is not supported by this reader") from None


def parse_fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """Decode one protobuf message into ``(field_number, wire_type, value)`` triples.

    Varints come back as ``int`` (unsigned), fixed32/64 as ``int``, length-delimited as ``bytes``.
    """
    fields: list[tuple[int, int, int | bytes]] = []
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            if pos + 8 > end:
                raise CheckpointError("truncated fixed64 protobuf field")
            value = int.from_bytes(buf[pos : pos + 8], "little")
            pos += 8
        elif wire == 2:
            n, pos = read_varint(buf, pos)
            if pos + n > end:
                raise CheckpointError("truncated length-delimited protobuf field")
            value = bytes(buf[pos : pos + n])
            pos += n
        elif wire == 5:
            if pos + 4 > end:
                raise CheckpointError("truncated fixed32 protobuf field")
            value = int.from_bytes(buf[pos : pos + 4], "little")
            pos += 4
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire} (field {number})")
        fields.append((number, wire, value))
    return fields


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _parse_shape(buf: bytes) -> tuple[int, ...]:
    dims: list[int] = []
    for number, _wire, value in parse_fields(buf):
        if number == 2:
            size = 0
            for n, _w, v in parse_fields(value):  # type: ignore[arg-type]
                if n == 1:
                    size = _signed64(v)  # type: ignore[arg-type]
            dims.append(size)
        elif number == 3 and value:
            raise CheckpointError("tensor of unknown rank")
    if any(d < 0 for d in dims):
        raise CheckpointError(f"tensor shape {dims} has unknown dimensions")
    return tuple(dims)


def parse_entry(name: str, buf: bytes) -> TensorEntry:
    """Decode a serialized ``BundleEntryProto``."""
    dtype = 0
    shape: tuple[int, ...] = ()
    shard_id = offset = size = 0
    crc: int | None = None
    sliced = False
    for number, _wire, value in parse_fields(buf):
        if number == 1:
            dtype = int(value)  # type: ignore[arg-type]
        elif number == 2:
            shape = _parse_shape(value)  # type: ignore[arg-type]
        elif number == 3:
            shard_id = int(value)  # type: ignore[arg-type]
        elif number == 4:
            offset = _signed64(value)  # type: ignore[arg-type]
        elif number == 5:
            size = _signed64(value)  # type: ignore[arg-type]
        elif number == 6:
            crc = int(value)  # type: ignore[arg-type]
        elif number == 7:
            sliced = True
    return TensorEntry(name, dtype, shape, shard_id, offset, size, crc, sliced)


class CheckpointReader:
    """The variables of one checkpoint, read lazily from its data file(s).

    ``prefix`` is the path without the ``.index`` ending (for musicnn's
    checkpoints, whose files are named ``.index`` and ``.data-...``, the
    prefix is the folder followed by ``/``).
    """

    def __init__(self, prefix: str | os.PathLike[str], *, verify: bool = True) -> None:
        self.prefix = str(prefix)
        self.verify = verify
        index = Path(self.prefix + ".index")
        if not index.is_file():
            raise CheckpointError(f"{index}: checkpoint index not found")
        try:
            entries = read_table(index.read_bytes(), verify=verify)
        except TableFormatError as error:
            raise CheckpointError(f"{index}: {error}") from error
        self.num_shards = 1
        self.entries: dict[str, TensorEntry] = {}
        for key, value in entries:
            if key == b"":
                self._read_header(index, value)
            else:
                name = key.decode("utf-8")
                self.entries[name] = parse_entry(name, value)

    def _read_header(self, index: Path, value: bytes) -> None:
        for number, _wire, field in parse_fields(value):
            if number == 1:
                self.num_shards = int(field)  # type: ignore[arg-type]
            elif number == 2 and field != 0:
                raise CheckpointError(f"{index}: big-endian checkpoints are not supported")

    def data_path(self, shard_id: int) -> Path:
        return Path(f"{self.prefix}.data-{shard_id:05d}-of-{self.num_shards:05d}")

    def names(self) -> list[str]:
        return sorted(self.entries)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: e.shape for name, e in sorted(self.entries.items())}

    def read(self, name: str) -> np.ndarray:
        """The tensor called ``name`` as a numpy array (native byte order)."""
        try:
            entry = self.entries[name]
        except KeyError:
            raise CheckpointError(f"{self.prefix}: no variable {name!r}") from None
        if entry.sliced:
            raise CheckpointError(f"variable {name!r} is partitioned into slices; not supported")
        dtype = entry.numpy_dtype
        expected = int(np.prod(entry.shape, dtype=np.int64)) * dtype.itemsize
        if entry.size != expected:
            raise CheckpointError(f"variable {name!r}: {entry.size} bytes stored, shape {entry.shape} needs {expected}")
        path = self.data_path(entry.shard_id)
        if not path.is_file():
            raise CheckpointError(f"{path}: checkpoint data file not found")
        with open(path, "rb") as f:
            f.seek(entry.offset)
            raw = f.read(entry.size)
        if len(raw) != entry.size:
            raise CheckpointError(f"{path}: truncated; variable {name!r} needs bytes {entry.offset}..{entry.offset + entry.size}")
        if self.verify and entry.crc32c is not None and mask_crc(crc32c(raw)) != entry.crc32c:
            raise CheckpointError(f"{path}: CRC-32C mismatch in variable {name!r}; the file is corrupt")
        return np.frombuffer(raw, dtype=dtype).reshape(entry.shape).astype(dtype.newbyteorder("="))


__all__ = ["CheckpointError", "CheckpointReader", "TensorEntry", "parse_entry", "parse_fields"]
