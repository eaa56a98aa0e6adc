"""Read a LevelDB-style sorted string table (SSTable), as TensorFlow writes it.

TensorFlow's checkpoint index (``*.index``) is such a table
(``tensorflow/core/lib/io/table*``, LevelDB's format). It is read here by hand
because the only maintained readers live inside TensorFlow itself (and
``plyvel``/``leveldb`` bind a C library and open whole databases, not single
table files); the format is small and frozen:

* a 48-byte footer: two block handles (metaindex, index) as varints, zero
  padding, then the magic number ``0xdb4775248b80fb57``;
* every block is followed by a 5-byte trailer: a compression byte
  (0 = none, 1 = snappy) and the masked CRC-32C of the block plus that byte;
* a block holds prefix-compressed entries (``shared``, ``non_shared``,
  ``value_length`` varints, the key suffix, the value) followed by a restart
  array of ``uint32`` offsets and their count;
* the index block maps a separator key to the handle of each data block.
"""

from __future__ import annotations

import struct
from typing import Iterator

from genrekit.errors import ModelFileError

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5
NO_COMPRESSION = 0
SNAPPY_COMPRESSION = 1


class TableFormatError(ModelFileError):
    """The bytes are not a valid SSTable (or snappy stream): truncated, corrupt or another format."""


# --- CRC-32C (Castagnoli), as LevelDB masks it -----------------------------------


def _crc32c_table() -> tuple[int, ...]:
    poly = 0x82F63B78  # reflected Castagnoli polynomial
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes | memoryview, crc: int = 0) -> int:
    """CRC-32C of ``data`` (continuing from ``crc``); pure Python, so slow on large files (docs/results.md).

    The standard library only has CRC-32 (IEEE, ``zlib.crc32``), which uses another polynomial.
    """
    table = _CRC_TABLE
    c = crc ^ 0xFFFFFFFF
    for byte in bytes(data):
        c = table[(c ^ byte) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def mask_crc(crc: int) -> int:
    """LevelDB's masking of a stored CRC (rotate right by 15 bits, add a constant)."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


# --- varints --------------------------------------------------------------------


def read_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; returns ``(value, next_pos)``."""
    result = 0
    shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise TableFormatError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise TableFormatError("varint longer than 10 bytes")


# --- snappy (raw format, as LevelDB stores compressed blocks) --------------------


def snappy_decompress(data: bytes | memoryview) -> bytes:
    """Decompress a raw snappy block (the format LevelDB uses; no framing).

    Hand-written (40 lines) so that reading a checkpoint needs no compiled
    extension; the format: a varint with the uncompressed length, then
    literals and back-references (copies) selected by the low 2 bits of a tag byte.
    """
    data = bytes(data)
    length, pos = read_varint(data, 0)
    out = bytearray()
    end = len(data)
    while pos < end:
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            n = tag >> 2
            if n >= 60:
                extra = n - 59
                if pos + extra > end:
                    raise TableFormatError("snappy: truncated literal length")
                n = int.from_bytes(data[pos : pos + extra], "little")
                pos += extra
            n += 1
            if pos + n > end:
                raise TableFormatError("snappy: literal runs past the end of the block")
            out += data[pos : pos + n]
            pos += n
            continue
        if kind == 1:  # copy, 1-byte offset
            if pos + 1 > end:
                raise TableFormatError("snappy: truncated copy")
            n = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        elif kind == 2:  # copy, 2-byte offset
            if pos + 2 > end:
                raise TableFormatError("snappy: truncated copy")
            n = (tag >> 2) + 1
            offset = int.from_bytes(data[pos : pos + 2], "little")
            pos += 2
        else:  # copy, 4-byte offset
            if pos + 4 > end:
                raise TableFormatError("snappy: truncated copy")
            n = (tag >> 2) + 1
            offset = int.from_bytes(data[pos : pos + 4], "little")
            pos += 4
        if offset == 0 or offset > len(out):
            raise TableFormatError(f"snappy: copy offset {offset} outside the {len(out)} bytes written")
        start = len(out) - offset
        if n <= offset:
            out += out[start : start + n]
        else:  # overlapping copy repeats the last `offset` bytes
            for i in range(n):
                out.append(out[start + i])
    if len(out) != length:
        raise TableFormatError(f"snappy: decompressed {len(out)} bytes, header announced {length}")
    return bytes(out)


# --- blocks and the table --------------------------------------------------------


def _read_handle(buf: bytes | memoryview, pos: int) -> tuple[tuple[int, int], int]:
    offset, pos = read_varint(buf, pos)
    size, pos = read_varint(buf, pos)
    return (offset, size), pos


def read_block(table: bytes, handle: tuple[int, int], *, verify: bool = True) -> bytes:
    """The (decompressed) contents of the block at ``handle = (offset, size)``."""
    offset, size = handle
    if offset + size + BLOCK_TRAILER_SIZE > len(table):
        raise TableFormatError(f"block at {offset}+{size} runs past the end of the {len(table)}-byte table")
    contents = table[offset : offset + size]
    kind = table[offset + size]
    if verify:
        (stored,) = struct.unpack_from("<I", table, offset + size + 1)
        actual = mask_crc(crc32c(table[offset : offset + size + 1]))
        if stored != actual:
            raise TableFormatError(f"block at {offset}: CRC-32C mismatch (stored {stored:#010x}, computed {actual:#010x})")
    if kind == NO_COMPRESSION:
        return contents
    if kind == SNAPPY_COMPRESSION:
        return snappy_decompress(contents)
    raise TableFormatError(f"block at {offset}: unknown compression type {kind}")


def iter_block(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Yield the ``(key, value)`` entries of one block, undoing prefix compression."""
    if len(block) < 4:
        raise TableFormatError("block shorter than its restart count")
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * num_restarts
    if limit < 0:
        raise TableFormatError(f"block announces {num_restarts} restarts but holds {len(block)} bytes")
    pos = 0
    key = b""
    while pos < limit:
        shared, pos = read_varint(block, pos)
        non_shared, pos = read_varint(block, pos)
        value_length, pos = read_varint(block, pos)
        if shared > len(key) or pos + non_shared + value_length > limit:
            raise TableFormatError("corrupt block entry")
        key = key[:shared] + block[pos : pos + non_shared]
        pos += non_shared
        yield key, block[pos : pos + value_length]
        pos += value_length


def read_table(table: bytes, *, verify: bool = True) -> list[tuple[bytes, bytes]]:
    """All ``(key, value)`` entries of an SSTable held in memory, in key order."""
    if len(table) < FOOTER_SIZE:
        raise TableFormatError(f"{len(table)} bytes is shorter than an SSTable footer")
    footer = table[-FOOTER_SIZE:]
    (magic,) = struct.unpack_from("<Q", footer, FOOTER_SIZE - 8)
    if magic != TABLE_MAGIC:
        raise TableFormatError(f"bad magic number {magic:#018x}; not an SSTable / TensorFlow checkpoint index")
    _metaindex, pos = _read_handle(footer, 0)
    index_handle, _ = _read_handle(footer, pos)
    entries: list[tuple[bytes, bytes]] = []
    for _sep, handle_bytes in iter_block(read_block(table, index_handle, verify=verify)):
        handle, _ = _read_handle(handle_bytes, 0)
        entries.extend(iter_block(read_block(table, handle, verify=verify)))
    return entries


__all__ = [
    "TableFormatError",
    "crc32c",
    "iter_block",
    "mask_crc",
    "read_block",
    "read_table",
    "read_varint",
    "snappy_decompress",
]
