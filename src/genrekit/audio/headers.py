"""The figures a WAV or AU header declares, read by hand before libsndfile sees the file.

libsndfile refuses a WAV whose sample rate is 0 with "SF_INFO struct
incomplete", accepts one that says 1 Hz, and quietly shortens the frame
count of a WAV whose data chunk promises more bytes than the file holds.
Reading the header's own fields lets genrekit name the declared rate and
channel count in its refusal and notice a truncated file. Only the header is
read (a few chunk headers, never the audio data).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable

from genrekit.audio.sniff import find_mpeg_frames, id3_tag_size

_MAX_CHUNKS = 512  # a WAV with more chunks before its data is not worth walking
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # what streaming writers put in a size field they cannot fill in


@dataclass(frozen=True)
class DeclaredHeader:
    """What a header declares. ``data_size`` is ``None`` when unknown (a streaming writer's placeholder)."""

    format: str
    sample_rate: int | None
    channels: int | None
    bytes_per_frame: int | None
    data_offset: int | None
    data_size: int | None

    def missing_bytes(self, file_size: int) -> tuple[int, int] | None:
        """``(declared, present)`` data bytes when the file holds less audio data than its header announces."""
        if self.data_offset is None or self.data_size is None:
            return None
        present = max(file_size - self.data_offset, 0)
        return (self.data_size, present) if present < self.data_size else None

    def seconds(self, n_bytes: int) -> float | None:
        """How long ``n_bytes`` of audio data last at the declared rate, when the header says."""
        if not self.bytes_per_frame or not self.sample_rate:
            return None
        return n_bytes / self.bytes_per_frame / self.sample_rate


def read_wav_header(read_at: Callable[[int, int], bytes]) -> DeclaredHeader | None:
    """The ``fmt `` fields and ``data`` chunk of a RIFF/WAVE file; ``None`` when it is not one.

    ``read_at(offset, count)`` reads bytes from the file. RF64 files (whose
    sizes live in a ``ds64`` chunk) report their data size as unknown.
    """
    head = read_at(0, 12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64", b"BW64") or head[8:12] != b"WAVE":
        return None
    rf64 = head[:4] != b"RIFF"
    rate = channels = block_align = None
    offset = 12
    for _ in range(_MAX_CHUNKS):
        chunk = read_at(offset, 8)
        if len(chunk) < 8:
            break
        name, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if name == b"fmt ":
            fields = read_at(offset + 8, 16)
            if len(fields) >= 14:
                _, channels, rate, _, block_align = struct.unpack("<HHIIH", fields[:14])
        elif name == b"data":
            data_size = None if rf64 or size in _UNKNOWN_SIZES else size
            return DeclaredHeader("WAV", rate, channels, block_align, offset + 8, data_size)
        offset += 8 + size + (size & 1)
    return DeclaredHeader("WAV", rate, channels, block_align, None, None)


_AU_BYTES_PER_SAMPLE = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 8, 27: 1}


def read_au_header(read_at: Callable[[int, int], bytes]) -> DeclaredHeader | None:
    """The fields of a Sun/NeXT AU header (big- or little-endian); ``None`` when it is not one."""
    head = read_at(0, 24)
    if len(head) < 24 or head[:4] not in (b".snd", b"dns."):
        return None
    order = ">" if head[:4] == b".snd" else "<"
    data_offset, data_size, encoding, rate, channels = struct.unpack(order + "IIIII", head[4:24])
    width = _AU_BYTES_PER_SAMPLE.get(encoding)
    return DeclaredHeader(
        "AU", rate, channels, width * channels if width else None, data_offset,
        None if data_size in _UNKNOWN_SIZES else data_size,
    )


def read_declared_header(read_at: Callable[[int, int], bytes]) -> DeclaredHeader | None:
    """What a WAV or AU header declares, or ``None`` for any other format."""
    return read_wav_header(read_at) or read_au_header(read_at)




_OGG_MAX_PAGE = 27 + 255 + 255 * 255  # header, segment table, body: the largest page the format allows


def ogg_end_missing(read_at: Callable[[int, int], bytes], size: int) -> str | None:
    """Why an Ogg file's last page shows it was cut short, or ``None`` when it ends properly.

    libsndfile reports an Ogg file's length from its last complete page, so a
    truncated download looks like a shorter, intact song. A whole stream
    ends with a page flagged end-of-stream (header type bit 2) that fits in
    the file; anything else was cut. Only the last ~64 KiB are read.
    """
    start = max(0, size - _OGG_MAX_PAGE - 4)
    tail = read_at(start, size - start)
    at = tail.rfind(b"OggS")
    while at >= 0 and (len(tail) - at < 27 or tail[at + 4] != 0):  # version byte 0, or a false match in page data
        at = tail.rfind(b"OggS", 0, at)
    if at < 0:
        return "no Ogg page header near the end of the file"
    header = tail[at:at + 27]
    n_segments = header[26]
    table = tail[at + 27:at + 27 + n_segments]
    if len(table) < n_segments or len(tail) - at < 27 + n_segments + sum(table):
        return "its last Ogg page is cut off"
    if not header[5] & 0x04:
        return "its last Ogg page is not marked end-of-stream"
    return None


_GAPLESS_DECODER_DELAY = 529  # samples mpg123 drops on top of the encoder delay a LAME tag announces


def read_mpeg_alignment(read_at: Callable[[int, int], bytes]) -> tuple[int, int] | None:
    """``(samples_per_frame, skipped)`` of an MPEG audio file, or ``None`` when no frame is found.

    ``skipped`` is how many decoded samples libmpg123 drops at the start
    (gapless playback: the encoder delay of a LAME/Info tag plus the decoder
    delay), so output sample ``n`` begins an MPEG frame when
    ``(n + skipped) % samples_per_frame == 0``. libsndfile's MP3 reader
    returns damaged samples after a read that ends inside a frame of a
    low-bitrate file, so the decoder reads whole frames only.
    """
    start = id3_tag_size(read_at(0, 10)) or 0
    data = read_at(start, 65536)
    at = find_mpeg_frames(data)
    if at is None:
        return None
    b1 = data[at + 1]
    version, layer = (b1 >> 3) & 3, 4 - ((b1 >> 1) & 3)
    per_frame = 384 if layer == 1 else 1152 if layer == 2 or version == 3 else 576
    first = data[at:at + 4096]
    skipped = 0
    for tag in (b"LAME", b"Lavc", b"Lavf"):
        i = first.find(tag)
        if i >= 0 and (b"Xing" in first[:i] or b"Info" in first[:i]) and len(first) >= i + 24:
            skipped = ((first[i + 21] << 4) | (first[i + 22] >> 4)) + _GAPLESS_DECODER_DELAY
            break
    return per_frame, skipped


__all__ = ["DeclaredHeader", "read_au_header", "read_declared_header", "read_mpeg_alignment", "read_wav_header"]
