"""What a file's first bytes look like, so a refusal can say what the file is.

libsndfile answers a file it cannot read with "Format not recognised" or,
worse, "File does not exist or is not a regular file (possibly a pipe?)".
Looking at the magic bytes ourselves lets genrekit say "looks like a PNG
image", send the containers libsndfile cannot read (MP4/M4A, Matroska/WebM,
ASF/WMA, raw AAC, AC-3, AMR, WavPack, TTA: :data:`PYAV_KINDS`) to PyAV
before libsndfile guesses at them (an m4a named ``.mp3`` could otherwise be
scanned for stray MPEG sync words), refuse formats neither decodes, and tell
audio from everything else. Pure functions of bytes: no file access here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

Category = Literal["audio", "unsupported", "other", "unknown"]

SNIFF_BYTES = 4096
"""How many leading bytes :func:`sniff` looks at."""

_ID3_SCAN_BYTES = 65536
"""How far past an ID3 tag MPEG audio frames are looked for."""


@dataclass(frozen=True)
class Sniffed:
    """A guess at a file's format from its first bytes.

    ``category`` is ``"audio"`` (a format genrekit decodes), ``"unsupported"``
    (audio in a format genrekit cannot decode yet), ``"other"`` (recognisably
    not audio: an image, an archive, text) or ``"unknown"``. ``description``
    completes "looks like ...", e.g. ``"a PNG image"``.
    """

    kind: str
    description: str
    category: Category

    @property
    def refused(self) -> bool:
        """Whether the file is certainly nothing genrekit can decode."""
        return self.category in ("unsupported", "other")


def _audio(kind: str, description: str) -> Sniffed:
    return Sniffed(kind, description, "audio")


def _unsupported(kind: str, description: str) -> Sniffed:
    return Sniffed(kind, description, "unsupported")


def _other(kind: str, description: str) -> Sniffed:
    return Sniffed(kind, description, "other")


UNKNOWN = Sniffed("unknown", "unrecognised binary data", "unknown")

MP4 = _audio("mp4", "an MP4/M4A container")

PYAV_KINDS = frozenset({"mp4", "matroska", "asf", "aac", "ac3", "eac3", "amr", "wavpack", "tta"})
"""Sniffed kinds decoded through PyAV (FFmpeg) rather than libsndfile, which cannot read them."""

# (magic at offset 0, result): checked in order, longest and most specific first.
_MAGIC: tuple[tuple[bytes, Sniffed], ...] = (
    (b"fLaC", _audio("flac", "a FLAC file")),
    (b".snd", _audio("au", "an AU file")),
    (b"dns.", _audio("au", "an AU file")),
    (b"caff", _audio("caf", "a CAF file")),
    (b"RF64", _audio("rf64", "an RF64 WAV file")),
    (b"BW64", _audio("rf64", "a BW64 WAV file")),
    (b"riff\x2e\x91\xcf\x11", _audio("w64", "a Wave64 file")),
    (b"NIST_1A", _audio("nist", "a NIST SPHERE file")),
    (b"Creative Voice File", _audio("voc", "a VOC file")),
    (b"\x1a\x45\xdf\xa3", _audio("matroska", "a Matroska/WebM container")),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", _audio("asf", "an ASF container (WMA/WMV)")),
    (b"MAC ", _unsupported("ape", "Monkey's Audio (APE), not supported")),
    (b"wvpk", _audio("wavpack", "a WavPack file")),
    (b"TTA1", _audio("tta", "a True Audio (TTA) file")),
    (b"#!AMR", _audio("amr", "an AMR speech file")),
    (b"ADIF", _unsupported("adif", "raw AAC (ADIF) audio, not supported")),
    (b".RMF", _unsupported("realmedia", "a RealMedia file, not supported")),
    (b"MThd", _other("midi", "a MIDI file (notes, not recorded audio)")),
    (b"\x89PNG\r\n\x1a\n", _other("png", "a PNG image")),
    (b"\xff\xd8\xff", _other("jpeg", "a JPEG image")),
    (b"GIF87a", _other("gif", "a GIF image")),
    (b"GIF89a", _other("gif", "a GIF image")),
    (b"II*\x00", _other("tiff", "a TIFF image")),
    (b"MM\x00*", _other("tiff", "a TIFF image")),
    (b"%PDF", _other("pdf", "a PDF document")),
    (b"PK\x03\x04", _other("zip", "a ZIP archive")),
    (b"PK\x05\x06", _other("zip", "a ZIP archive")),
    (b"\x1f\x8b", _other("gzip", "a gzip archive")),
    (b"BZh", _other("bzip2", "a bzip2 archive")),
    (b"\xfd7zXZ\x00", _other("xz", "an xz archive")),
    (b"7z\xbc\xaf\x27\x1c", _other("7z", "a 7-Zip archive")),
    (b"Rar!\x1a\x07", _other("rar", "a RAR archive")),
    (b"\x28\xb5\x2f\xfd", _other("zstd", "a zstd archive")),
    (b"\x7fELF", _other("elf", "an executable program")),
    (b"SQLite format 3\x00", _other("sqlite", "an SQLite database")),
    (b"\x93NUMPY", _other("npy", "a NumPy array file")),
    (b"OggS", _audio("ogg", "an Ogg file")),  # refined by _ogg
)


def _riff(head: bytes) -> Sniffed | None:
    if head[:4] != b"RIFF" or len(head) < 12:
        return None
    form = head[8:12]
    if form == b"WAVE":
        return _audio("wav", "a WAV file")
    if form == b"AVI ":
        return _other("avi", "an AVI video")
    if form == b"WEBP":
        return _other("webp", "a WebP image")
    if form == b"RMID":
        return _other("midi", "a MIDI file (notes, not recorded audio)")
    return _other("riff", f"a RIFF file of type {form!r}, not WAVE")


def _iff(head: bytes) -> Sniffed | None:
    if head[:4] != b"FORM" or len(head) < 12:
        return None
    form = head[8:12]
    if form in (b"AIFF", b"AIFC"):
        return _audio("aiff", "an AIFF file")
    if form in (b"8SVX", b"16SV"):
        return _audio("svx", "an IFF/SVX file")
    return _other("iff", f"an IFF file of type {form!r}, not AIFF")


def _ogg(head: bytes) -> Sniffed:
    first_page = head[:512]
    if b"\x01vorbis" in first_page:
        return _audio("ogg", "an Ogg Vorbis file")
    if b"OpusHead" in first_page:
        return _audio("opus", "an Ogg Opus file")
    if b"\x7fFLAC" in first_page:
        return _audio("ogg", "an Ogg FLAC file")
    if b"\x80theora" in first_page:
        return _other("theora", "an Ogg Theora video")
    if b"Speex   " in first_page:
        return _unsupported("speex", "Ogg Speex audio, not supported")
    return _audio("ogg", "an Ogg file")


ADTS = _audio("aac", "raw AAC (ADTS) audio")


def _dolby(head: bytes) -> Sniffed:
    """AC-3 or E-AC-3 by the bitstream id after the sync word (FFmpeg has one demuxer for each)."""
    bsid = head[5] >> 3 if len(head) > 5 else 0
    if bsid > 10:
        return _audio("eac3", "E-AC-3 (Dolby Digital Plus) audio")
    return _audio("ac3", "AC-3 (Dolby Digital) audio")


_QUICKTIME_FIRST_BOXES = (b"moov", b"mdat", b"wide", b"free", b"skip")  # files older than the ftyp box


def _mp4(head: bytes) -> Sniffed | None:
    first_box = int.from_bytes(head[:4], "big")  # 0: to the end of the file, 1: a 64-bit size follows
    if len(head) >= 8 and head[4:8] in _QUICKTIME_FIRST_BOXES and (first_box in (0, 1) or first_box >= 8):
        return _audio("mp4", "a QuickTime container")
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[:4], "big")
    if not 8 <= size <= 4096:
        return None
    if head[8:12] == b"qt  ":
        return _audio("mp4", "a QuickTime container")
    return MP4


_MPEG_BITRATES = {  # (version_is_1, layer) -> kbit/s by index 1..14
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def mpeg_frame_length(header: bytes) -> int | None:
    """Length in bytes of the MPEG audio frame whose 4-byte header is ``header``; ``None`` if it is not one."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version = (header[1] >> 3) & 3  # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5, 1: reserved
    layer = 4 - ((header[1] >> 1) & 3)  # 4 means the reserved layer bits 00
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 3
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    kbps = _MPEG_BITRATES[(version == 3, layer)][bitrate_index - 1]
    rate = _MPEG_RATES[version][rate_index]
    padding = (header[2] >> 1) & 1
    if layer == 1:
        return (12 * kbps * 1000 // rate + padding) * 4
    factor = 144 if layer == 2 or version == 3 else 72
    return factor * kbps * 1000 // rate + padding


def _is_adts(header: bytes) -> bool:
    """An ADTS (raw AAC) frame header: MPEG sync with the layer bits 00."""
    return len(header) >= 4 and header[0] == 0xFF and header[1] & 0xF6 == 0xF0


def find_mpeg_frames(data: bytes) -> int | None:
    """Offset of the first of two consecutive valid MPEG audio frames in ``data`` (or of one ending it)."""
    start = data.find(b"\xff")
    while 0 <= start < len(data) - 3:
        length = mpeg_frame_length(data[start:start + 4])
        if length:
            following = data[start + length:start + length + 4]
            if len(following) < 4 or mpeg_frame_length(following):
                return start
        start = data.find(b"\xff", start + 1)
    return None


def id3_tag_size(head: bytes) -> int | None:
    """Total size of an ID3v2 tag at the start of ``head`` (header included), or ``None``."""
    if len(head) < 10 or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
        return None
    size = 0
    for b in head[6:10]:
        size = (size << 7) | b
    footer = 10 if head[5] & 0x10 else 0
    return 10 + size + footer


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    for cut in range(4):  # the sample may end inside a multi-byte character
        try:
            text = head[: len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    else:
        text = head.decode("latin-1")
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f\v" or 0x7F <= ord(c) < 0xA0)
    return controls <= len(text) // 100


def _text(head: bytes) -> Sniffed:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in start[:1024]:
        return _other("html", "HTML")
    if start.startswith(b"<?xml") or start.startswith(b"<svg"):
        return _other("svg", "an SVG image") if b"<svg" in start[:1024] else _other("xml", "XML")
    if start.startswith((b"#extm3u", b"[playlist]")):
        return _other("playlist", "a playlist (text listing other files)")
    if start[:1] in (b"{", b"["):
        return _other("json", "JSON text")
    return _other("text", "text")


def sniff(head: bytes, read_at: Callable[[int, int], bytes] | None = None) -> Sniffed:
    """Guess a file's format from its first bytes (``head``, :data:`SNIFF_BYTES` of them suffice).

    ``read_at(offset, count)`` reads further into the file; with it, the
    bytes after an ID3 tag are checked for MPEG audio frames.
    """
    if not head:
        return UNKNOWN
    for test in (_riff, _iff, _mp4):
        found = test(head)
        if found is not None:
            return found
    for magic, result in _MAGIC:
        if head.startswith(magic):
            return _ogg(head) if result.kind == "ogg" else result
    tag = id3_tag_size(head)
    if tag is not None:
        after = read_at(tag, _ID3_SCAN_BYTES) if read_at is not None else head[tag:]
        if read_at is None and not after:
            return _audio("mp3", "an MP3 file")  # cannot look further: let the decoder decide
        if after[:4] in (b"fLaC",):
            return _audio("flac", "a FLAC file")
        if find_mpeg_frames(after) is not None:
            return _audio("mp3", "an MP3 file")
        if _is_adts(after):
            return ADTS
        return _other("id3", "an ID3 tag with no MPEG audio frames after it")
    if head[:2] in (b"\xfe\xff", b"\xff\xfe") and len(head) >= 4:
        try:
            text = head.decode("utf-16")
        except UnicodeDecodeError:
            text = ""
        if text and all(c.isprintable() or c in "\t\r\n" for c in text[1:]):
            return _other("text", "text")
    if _is_adts(head):
        return ADTS
    if mpeg_frame_length(head[:4]):
        return _audio("mp3", "MPEG audio")
    if head[:2] == b"\x0b\x77":
        return _dolby(head)
    if head[:2] == b"MZ":
        return _other("exe", "a Windows program")
    if _looks_like_text(head[:SNIFF_BYTES]):
        return _text(head)
    return UNKNOWN


def looks_like(head: bytes, read_at: Callable[[int, int], bytes] | None = None) -> str:
    """``"looks like <description>"`` for a file's first bytes."""
    return f"looks like {sniff(head, read_at).description}"


__all__ = [
    "ADTS",
    "MP4",
    "PYAV_KINDS",
    "SNIFF_BYTES",
    "UNKNOWN",
    "Sniffed",
    "find_mpeg_frames",
    "id3_tag_size",
    "looks_like",
    "mpeg_frame_length",
    "sniff",
]
