"""The SSTable reader: varints, CRC-32C, snappy, blocks and whole tables (built here by hand)."""

from __future__ import annotations

import struct

import pytest

from genrekit.musicnn import sstable
from genrekit.musicnn.sstable import TableFormatError


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def test_read_varint_round_trips_small_and_large_values():
    for n in (0, 1, 127, 128, 300, 2**31 - 1, 2**35 + 5, 2**63 - 1):
        encoded = b"xx" + varint(n) + b"yy"
        assert sstable.read_varint(encoded, 2) == (n, 2 + len(varint(n)))


def test_read_varint_rejects_truncated_input():
    with pytest.raises(TableFormatError, match="truncated"):
        sstable.read_varint(b"\x80\x80", 0)


def test_crc32c_matches_the_standard_check_value():
    # The CRC-32C (Castagnoli) check value of "123456789" (RFC 3720 / iSCSI).
    assert sstable.crc32c(b"123456789") == 0xE3069283
    assert sstable.crc32c(b"") == 0
    # Continuing a CRC over a split input gives the CRC of the whole.
    assert sstable.crc32c(b"6789", sstable.crc32c(b"12345")) == 0xE3069283


def test_mask_crc_is_leveldbs_rotation_plus_constant():
    crc = 0xE3069283
    assert sstable.mask_crc(crc) == ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF
    assert sstable.mask_crc(0) == 0xA282EAD8


# --- snappy: hand-encoded streams following the format description -----------------


def test_snappy_literal_and_overlapping_copy():
    # "abcd" as a literal, then a 1-byte-offset copy of 8 bytes from 4 back (overlapping).
    stream = varint(12) + bytes([(4 - 1) << 2]) + b"abcd" + bytes([0b01 | ((8 - 4) << 2), 4])
    assert sstable.snappy_decompress(stream) == b"abcdabcdabcd"


def test_snappy_two_and_four_byte_offset_copies():
    # A 200-byte literal (length 199 needs the one-extra-byte form, tag 60), then two 64-byte
    # copies from 200 bytes back: one with a 2-byte offset, one with a 4-byte offset.
    literal = bytes([60 << 2, 199]) + bytes(range(200))
    copy2 = bytes([0b10 | ((64 - 1) << 2)]) + struct.pack("<H", 200)
    copy4 = bytes([0b11 | ((64 - 1) << 2)]) + struct.pack("<I", 200)
    expected = bytes(range(200)) + bytes(range(64)) + bytes(range(64, 128))
    assert sstable.snappy_decompress(varint(328) + literal + copy2 + copy4) == expected


@pytest.mark.parametrize(
    "stream, message",
    [
        (varint(4) + bytes([0b01 | (0 << 2), 9]), "offset"),  # copy before anything was written
        (varint(10) + bytes([(4 - 1) << 2]) + b"abcd", "announced"),  # wrong uncompressed length
        (varint(4) + bytes([(8 - 1) << 2]) + b"ab", "past the end"),  # literal longer than the data
    ],
)
def test_snappy_rejects_corrupt_streams(stream, message):
    with pytest.raises(TableFormatError, match=message):
        sstable.snappy_decompress(stream)


# --- blocks and tables, built by a minimal writer ----------------------------------


def snappy_literal_only(data: bytes) -> bytes:
    """A valid (if useless) snappy stream: one literal (length < 2**16)."""
    n = len(data) - 1
    if n < 60:
        return varint(len(data)) + bytes([n << 2]) + data
    return varint(len(data)) + bytes([61 << 2]) + struct.pack("<H", n) + data


def build_block(entries: list[tuple[bytes, bytes]], restart_interval: int = 2) -> bytes:
    out = bytearray()
    restarts = []
    previous = b""
    for i, (key, value) in enumerate(entries):
        if i % restart_interval == 0:
            restarts.append(len(out))
            shared = 0
        else:
            shared = 0
            while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
                shared += 1
        out += varint(shared) + varint(len(key) - shared) + varint(len(value)) + key[shared:] + value
        previous = key
    for r in restarts:
        out += struct.pack("<I", r)
    out += struct.pack("<I", len(restarts))
    return bytes(out)


def append_block(table: bytearray, contents: bytes, compression: int) -> tuple[int, int]:
    stored = snappy_literal_only(contents) if compression == 1 else contents
    offset = len(table)
    table += stored + bytes([compression])
    table += struct.pack("<I", sstable.mask_crc(sstable.crc32c(stored + bytes([compression]))))
    return offset, len(stored)


def build_table(blocks: list[list[tuple[bytes, bytes]]], compression: int = 0) -> bytes:
    table = bytearray()
    index = []
    for entries in blocks:
        handle = append_block(table, build_block(entries), compression)
        index.append((entries[-1][0], varint(handle[0]) + varint(handle[1])))
    meta = append_block(table, build_block([]), 0)
    idx = append_block(table, build_block(index, restart_interval=1), 0)
    footer = varint(meta[0]) + varint(meta[1]) + varint(idx[0]) + varint(idx[1])
    footer += b"\0" * (40 - len(footer)) + struct.pack("<Q", sstable.TABLE_MAGIC)
    return bytes(table + footer)


BLOCKS = [
    [(b"", b"header"), (b"layer/bias", b"B" * 7), (b"layer/kernel", b"K" * 70)],
    [(b"layer_1/bias", b"b"), (b"layer_1/kernel", b"kernel-bytes")],
]


@pytest.mark.parametrize("compression", [0, 1])
def test_read_table_returns_all_entries_in_order(compression):
    table = build_table(BLOCKS, compression)
    assert sstable.read_table(table) == [e for block in BLOCKS for e in block]


def test_read_table_detects_a_flipped_byte():
    table = bytearray(build_table(BLOCKS))
    table[20] ^= 0x01
    with pytest.raises(TableFormatError, match="CRC-32C mismatch"):
        sstable.read_table(bytes(table))


def test_read_table_rejects_other_files():
    with pytest.raises(TableFormatError, match="bad magic"):
        sstable.read_table(b"\0" * 100)
    with pytest.raises(TableFormatError, match="shorter"):
        sstable.read_table(b"tiny")


def test_read_block_rejects_unknown_compression():
    table = bytearray()
    handle = append_block(table, build_block([(b"k", b"v")]), 0)
    table[handle[0] + handle[1]] = 7
    with pytest.raises(TableFormatError, match="compression type 7"):
        sstable.read_block(bytes(table), handle, verify=False)
