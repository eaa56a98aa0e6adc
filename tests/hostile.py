"""A generator of bad, odd and hostile inputs: audio files and model files, each made from nothing.

Every kind is a small function that writes one file (or folder entry) and
says what genrekit must do with it:

- ``ok``: odd but valid audio (8 kHz, six channels, silence, a name full of
  markup or escape sequences, a name that is not UTF-8, ...): classified;
- ``error``: bad or hostile audio (text, a PNG, an m4a with no index, a video-only mp4, a
  header claiming 0 Hz or billions of frames, NaN samples, 1e30 samples, a
  truncated stream, ...): a named, typed error for that file, the run goes on;
- for model files, ``refused`` (a one-line :class:`ModelFileError`) or
  ``runs`` (harmless, e.g. labels full of markup, which are printed escaped).

The test suite runs every kind through ``predict --json``, the table output,
``features``, the model loader and ``predict_signal`` (tests/test_hostile.py);
``benchmarks/hostile_memory.py`` measures their memory. Nothing here needs data
from outside the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

SR = 22050


def tone(seconds: float = 4.0, sr: int = SR, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    """A sine with a little deterministic noise, ``(n,)`` or ``(n, channels)`` float32."""
    t = np.arange(int(seconds * sr)) / sr
    y = 0.4 * np.sin(2 * np.pi * freq * t) + 0.05 * np.random.default_rng(int(freq)).standard_normal(len(t))
    y = y.astype(np.float32)
    return np.repeat(y[:, None], channels, axis=1) if channels > 1 else y


def wav_bytes(y: np.ndarray, sr: int = SR, *, declared_sr: int | None = None, declared_channels: int | None = None,
              data_size: int | None = None, float32: bool = False) -> bytes:
    """A RIFF/WAVE file of ``y`` (16-bit PCM, or IEEE float) whose header fields can lie."""
    y = np.asarray(y)
    channels = 1 if y.ndim == 1 else y.shape[1]
    if float32:
        data = y.astype("<f4").tobytes()
        fmt_tag, bits = 3, 32
    else:
        data = (np.clip(y, -1, 1) * 32767).astype("<i2").tobytes()
        fmt_tag, bits = 1, 16
    ch = channels if declared_channels is None else declared_channels
    rate = sr if declared_sr is None else declared_sr
    block = max(ch, 1) * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, ch, rate, (rate * block) & 0xFFFFFFFF, block & 0xFFFF, bits)
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", (len(body)) & 0xFFFFFFFF) + body


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _sf(path: Path, y: np.ndarray, sr: int = SR, **kwargs: object) -> Path:
    sf.write(os.fsencode(path), y, sr, **kwargs)  # bytes: soundfile cannot encode a name that is not UTF-8
    return path


def _mp3(folder: Path, name: str, seconds: float) -> Path:
    return _sf(folder / name, tone(seconds), SR, format="MP3")


def _truncated(source: Path, target: Path, keep: float) -> Path:
    data = source.read_bytes()
    return _write(target, data[: int(len(data) * keep)])


def _mp3_claiming_billions(folder: Path) -> Path:
    """An mp3 whose Xing header says it holds about 4.3 billion frames."""
    good = _mp3(folder, ".base-xing.mp3", 3.0).read_bytes()
    (folder / ".base-xing.mp3").unlink()
    at = good.find(b"Xing")
    if at < 0:
        at = good.find(b"Info")
    if at < 0:  # no VBR header written: claim it in an ID3 TLEN frame instead
        return _write(folder / "billions.mp3", good)
    flags = struct.unpack(">I", good[at + 4: at + 8])[0] | 0x1
    patched = good[:at + 4] + struct.pack(">II", flags, 0xFFFFFFF0) + good[at + 12:]
    return _write(folder / "billions-of-frames.mp3", patched)


_MUXERS = {".m4a": "mp4", ".m4b": "mp4", ".wma": "asf", ".mkv": "matroska", ".mka": "matroska", ".aac": "adts"}


def encode_av(path: Path, y: np.ndarray, sr: int = SR, codec: str = "aac", *, container: str | None = None,
              sample_format: str | None = None, bit_rate: int | None = None, video: bool = False,
              audio: bool = True, options: dict[str, str] | None = None) -> Path:
    """Write ``y`` (``(n,)`` or ``(n, channels)`` float in [-1, 1]) with PyAV's ``codec`` into ``path``.

    ``video`` adds a tiny MPEG-4 video track (``audio=False``: only that
    track). Integer sample formats take ``y`` rounded as a 16-bit PCM file
    holds it; ``options`` go to the muxer (``{"movflags": "faststart"}``).
    """
    import av

    y = np.asarray(y, dtype=np.float32)
    y = y[:, None] if y.ndim == 1 else y
    layout = {1: "mono", 2: "stereo"}[y.shape[1]]
    container = container or _MUXERS.get(path.suffix, path.suffix.lstrip("."))
    with open(path, "w+b") as f, av.open(f, "w", format=container, options=options or {}) as out:
        stream = out.add_stream(codec, rate=sr, layout=layout) if audio else None
        if stream is not None and bit_rate:
            stream.bit_rate = bit_rate
        if stream is not None and sample_format:
            stream.format = sample_format
        if video:
            picture = out.add_stream("mpeg4", rate=10)
            picture.width, picture.height, picture.pix_fmt = 32, 32, "yuv420p"
            for i in range(int(len(y) / sr * 10)):
                frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 8 % 256, np.uint8), format="rgb24")
                frame.pts = i
                for packet in picture.encode(frame):
                    out.mux(packet)
            for packet in picture.encode(None):
                out.mux(packet)
        if stream is None:
            return path
        fmt = stream.codec_context.format
        step = stream.codec_context.frame_size or 4096
        for i in range(0, len(y), step):
            chunk = y[i:i + step]
            data = np.ascontiguousarray(chunk.T if fmt.is_planar else chunk.reshape(1, -1))
            if fmt.name.startswith(("s16", "s32")):  # as a 16-bit PCM file holds it: x * 32768, rounded
                data = np.clip(np.round(data * 32768.0), -32768, 32767).astype(np.int16)
                data = data.astype(np.int32) << 16 if fmt.name.startswith("s32") else data
            frame = av.AudioFrame.from_ndarray(data, format=fmt.name, layout=layout)
            frame.sample_rate, frame.pts = sr, i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _fake_m4a() -> bytes:
    """The first boxes of an MP4/M4A file (ftyp, then an mdat of noise): what iTunes files start with."""
    ftyp = b"ftypM4A " + struct.pack(">I", 0) + b"M4A mp42isom\x00\x00\x00\x00"
    mdat = os.urandom(0) + bytes(np.random.default_rng(3).integers(0, 256, 4000, dtype=np.uint8))
    return struct.pack(">I", 8 + len(ftyp)) + ftyp + struct.pack(">I", 8 + len(mdat)) + b"mdat" + mdat


@dataclass(frozen=True)
class AudioKind:
    """One kind of input: how to make it in a folder, and what genrekit must do with it."""

    name: str
    make: Callable[[Path], Path]
    expect: str  # "ok" | "error"
    says: str = ""  # for "error": a phrase the message must contain (case-insensitive), "" for any


def _kinds() -> list[AudioKind]:
    k: list[AudioKind] = []

    def ok(name: str, make: Callable[[Path], Path]) -> None:
        k.append(AudioKind(name, make, "ok"))

    def bad(name: str, make: Callable[[Path], Path], says: str = "") -> None:
        k.append(AudioKind(name, make, "error", says))

    # -- odd but valid: classified
    ok("8 kHz mono", lambda d: _sf(d / "8khz.wav", tone(4.0, 8000), 8000))
    ok("96 kHz six channels", lambda d: _sf(d / "96k-6ch.flac", tone(3.5, 96000, channels=6), 96000))
    ok("silence", lambda d: _sf(d / "silence.wav", np.zeros(4 * SR, np.float32)))
    ok("DC offset", lambda d: _sf(d / "dc.wav", np.full(4 * SR, 0.5, np.float32)))
    ok("full-scale square wave", lambda d: _sf(d / "square.wav", np.sign(tone(4.0)) * 1.0))
    ok("float64 wav", lambda d: _sf(d / "f64.wav", tone(4.0).astype(np.float64), subtype="DOUBLE"))
    ok("24-bit flac", lambda d: _sf(d / "24bit.flac", tone(4.0), subtype="PCM_24"))
    ok("short but most of a window", lambda d: _sf(d / "short-ok.wav", tone(2.0)))
    ok("upper-case extension", lambda d: _sf(d / "LOUD.WAV", tone(4.0)))
    ok("rich markup in the name", lambda d: _sf(d / "[red]not red[blink] [link=x].wav", tone(4.0)))
    ok("unclosed bracket folder", lambda d: (d / "dir[").mkdir(exist_ok=True) or _sf(d / "dir[" / "in[.wav", tone(4.0)))
    ok("ESC sequence in the name", lambda d: _sf(d / "\x1b]0;owned\x07\x1b[31mred.wav", tone(4.0)))
    ok("bidi override in the name", lambda d: _sf(d / "abc\u202ewav.3pm.wav", tone(4.0)))
    ok("newline in the name", lambda d: _sf(d / "two\nlines.wav", tone(4.0)))
    ok("non-UTF-8 name", lambda d: _sf(Path(os.fsdecode(os.fsencode(str(d)) + b"/caf\xe9-latin1.wav")), tone(4.0)))
    ok("leading dash", lambda d: _sf(d / "-rf.wav", tone(4.0)))
    ok("unicode name", lambda d: _sf(d / "Sigur Rós — Hoppípolla 日本.ogg", tone(4.0), format="OGG"))
    ok("very long name", lambda d: _sf(d / ("x" * 240 + ".wav"), tone(4.0)))
    ok("symlink to a good file", lambda d: _symlink(d / "link.wav", _sf(d / ".target.wav", tone(4.0))))
    ok("m4a (AAC)", lambda d: encode_av(d / "itunes-aac.m4a", tone(4.0)))
    ok("mp4 with a video track", lambda d: encode_av(d / "clip.mp4", tone(4.0), video=True))

    # -- bad or hostile: a named error, the others go on
    bad("empty file", lambda d: _write(d / "empty.wav", b""), "0 bytes")
    bad("one byte", lambda d: _write(d / "one-byte.mp3", b"\x00"))
    bad("random bytes", lambda d: _write(d / "random.wav", bytes(np.random.default_rng(1).integers(0, 256, 5000,
                                                                                                    dtype=np.uint8))))
    bad("text named .mp3", lambda d: _write(d / "notes.mp3", b"These are my notes, not a song.\n" * 50), "text")
    bad("HTML named .wav", lambda d: _write(d / "page.wav", b"<!DOCTYPE html><html><body>404</body></html>\n" * 20))
    bad("PNG named .flac", lambda d: _write(d / "cover.flac", b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000))
    bad("ZIP named .ogg", lambda d: _write(d / "archive.ogg", b"PK\x03\x04" + b"\x00" * 2000))
    bad("m4a with no index, named .mp3", lambda d: _write(d / "itunes.mp3", _fake_m4a()), "mp4")
    bad("m4a with no index", lambda d: _write(d / "itunes.m4a", _fake_m4a()), "MP4/M4A container, but")
    bad("truncated m4a", lambda d: _truncated(encode_av(d / ".full.m4a", tone(6.0)), d / "truncated.m4a", 0.5),
        "MP4/M4A container, but")
    bad("m4a cut after its index", lambda d: _truncated(encode_av(d / ".fast.m4a", tone(6.0), options={
        "movflags": "faststart"}), d / "cut-audio.m4a", 0.3), "truncated")
    bad("text named .m4a", lambda d: _write(d / "notes.m4a", b"These are my notes, not a song.\n" * 50), "text")
    bad("empty m4a", lambda d: _write(d / "empty.m4a", b""), "0 bytes")
    bad("video-only mp4", lambda d: encode_av(d / "silent-film.mp4", tone(2.0), video=True, audio=False),
        "no audio track")
    bad("aac sync bytes and zeros", lambda d: _write(d / "raw.aac", b"\xff\xf1\x50\x80" + b"\x00" * 2000))
    bad("wma header and zeros", lambda d: _write(d / "old.wma", b"\x30\x26\xb2\x75\x8e\x66\xcf\x11" + b"\x00" * 2000),
        "ASF container")
    bad("ape", lambda d: _write(d / "lossless.ape", b"MAC \x96\x0f\x00\x00" + b"\x00" * 2000), "not supported")
    bad("sample rate 0", lambda d: _write(d / "rate0.wav", wav_bytes(tone(1.0), declared_sr=0)), "0 hz")
    bad("sample rate 1 Hz", lambda d: _write(d / "rate1.wav", wav_bytes(tone(0.01), declared_sr=1)), "1 hz")
    bad("sample rate 10^9 Hz", lambda d: _write(d / "rate1g.wav", wav_bytes(tone(1.0), declared_sr=10**9)), "hz")
    bad("zero channels", lambda d: _write(d / "ch0.wav", wav_bytes(tone(1.0), declared_channels=0)))
    bad("65535 channels", lambda d: _write(d / "ch65535.wav", wav_bytes(tone(1.0), declared_channels=65535)))
    bad("header promises 30 s, holds 1 s", lambda d: _write(
        d / "promise30.wav", wav_bytes(tone(1.0), data_size=30 * SR * 2)))
    bad("data chunk claims 4 GB", lambda d: _write(d / "claims4gb.wav", wav_bytes(tone(4.0), data_size=0xFFFFFFF0)))
    bad("mp3 claiming billions of frames", _mp3_claiming_billions)
    bad("truncated mp3", lambda d: _truncated(_mp3(d, ".full.mp3", 6.0), d / "truncated.mp3", 0.3))
    bad("truncated flac", lambda d: _truncated(_sf(d / ".full.flac", tone(6.0)), d / "truncated.flac", 0.3))
    bad("truncated ogg", lambda d: _truncated(_sf(d / ".full.ogg", tone(6.0), format="OGG"), d / "truncated.ogg", 0.3))
    bad("only an ID3 tag", lambda d: _write(d / "id3-only.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\x00" * 16))
    bad("NaN samples", lambda d: _write(d / "nan.wav", wav_bytes(_with(tone(4.0), 100, np.nan), float32=True)), "nan")
    bad("infinite samples", lambda d: _write(d / "inf.wav", wav_bytes(_with(tone(4.0), 5, np.inf), float32=True)))
    bad("samples of 1e30", lambda d: _write(d / "huge.wav", wav_bytes(tone(4.0) * 1e30, float32=True)))
    bad("one sample", lambda d: _sf(d / "one-sample.wav", np.array([0.1], np.float32)))
    bad("0.05 s mp3", lambda d: _mp3(d, "blip.mp3", 0.05))
    bad("shorter than half a window", lambda d: _sf(d / "too-short.wav", tone(0.8)), "shorter")
    bad("broken symlink", lambda d: _symlink(d / "dangling.wav", d / "no-such-target.wav"))
    bad("FIFO named .wav", _fifo)
    if os.geteuid() != 0:  # root reads anything
        bad("no read permission", _unreadable, "permission")
    return k


def _with(y: np.ndarray, at: int, value: float) -> np.ndarray:
    y = y.copy()
    y[at:at + 10] = value
    return y


def _symlink(link: Path, target: Path) -> Path:
    link.symlink_to(target)
    return link


def _fifo(folder: Path) -> Path:
    path = folder / "pipe.wav"
    os.mkfifo(path)
    return path


def _unreadable(folder: Path) -> Path:
    path = _sf(folder / "secret.wav", tone(4.0))
    path.chmod(0)
    return path


AUDIO_KINDS: list[AudioKind] = _kinds()


def good_clips(folder: Path, n: int = 5) -> list[Path]:
    """``n`` ordinary clips in several formats (what a real folder holds between the bad ones)."""
    formats = [("wav", {}), ("flac", {}), ("mp3", {"format": "MP3"}), ("ogg", {"format": "OGG"}), ("aiff", {})]
    out = []
    for i in range(n):
        ext, kwargs = formats[i % len(formats)]
        out.append(_sf(folder / f"good-{i}.{ext}", tone(6.0, freq=220.0 * (i + 1)), **kwargs))
    return out


def make_audio_folder(folder: Path, n_good: int = 5) -> tuple[list[Path], dict[str, AudioKind]]:
    """Every audio kind plus ``n_good`` good clips in ``folder``: the good clips, and each made path's kind.

    Folder entries a walk of the folder does not return as audio (a FIFO, a
    dangling link) are still listed; callers name them explicitly.
    """
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, AudioKind] = {}
    for kind in AUDIO_KINDS:
        path = kind.make(folder)
        made[str(path)] = kind
    return good_clips(folder, n_good), made


# ----------------------------------------------------------------------------- model files


def reseal(src: Path, dst: Path, *, card_edit: Callable[[dict], None] | None = None,
           members_edit: Callable[[dict[str, bytes]], None] | None = None, card_bytes: bytes | None = None) -> Path:
    """Copy a model file with edits and recompute its hashes as the documented format says (what a stranger can do)."""
    with zipfile.ZipFile(src) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    card = json.loads(members.pop("card.json"))
    if card_edit:
        card_edit(card)
    if members_edit:
        members_edit(members)
    card["members"] = {n: hashlib.sha256(d).hexdigest() for n, d in members.items()}
    _seal(card)
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("card.json", card_bytes if card_bytes is not None else json.dumps(card))
        for n, d in members.items():
            zf.writestr(n, d)
    return dst


def _seal(card: dict) -> None:
    body = {k: v for k, v in card.items() if k != "card_sha256"}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    card["card_sha256"] = hashlib.sha256(canon).hexdigest()


def _onnx_edit(src: Path, dst: Path, edit: Callable[[object], None]) -> Path:
    import onnx

    with zipfile.ZipFile(src) as zf:
        proto = onnx.load_model_from_string(zf.read("model.onnx"))
    edit(proto)
    data = proto.SerializeToString()
    return reseal(src, dst, members_edit=lambda m: m.update({"model.onnx": data}))


def _external_data(proto: object) -> None:
    from onnx import TensorProto

    tensor = proto.graph.initializer[0]  # type: ignore[attr-defined]
    tensor.ClearField("raw_data")
    for name in ("float_data", "double_data", "int64_data", "int32_data"):
        del getattr(tensor, name)[:]
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "secret.bin"


BOMB_MB = 600


def _zip_bomb(src: Path, dst: Path) -> Path:
    """A sealed model whose listed extra member inflates to 600 MB (under a megabyte on disk)."""
    with zipfile.ZipFile(src) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    card = json.loads(members.pop("card.json"))
    chunk = b"\x00" * (1 << 20)
    digest = hashlib.sha256()
    for _ in range(BOMB_MB):
        digest.update(chunk)
    card["members"]["padding.bin"] = digest.hexdigest()
    _seal(card)
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("card.json", json.dumps(card))
        for n, d in members.items():
            zf.writestr(n, d)
        with zf.open("padding.bin", "w", force_zip64=True) as f:
            for _ in range(BOMB_MB):
                f.write(chunk)
    return dst


@dataclass(frozen=True)
class ModelKind:
    name: str
    make: Callable[[Path, Path], Path]  # (a valid model file, target folder) -> the hostile file
    expect: str  # "refused" | "runs"


def _set(path: str, value: object) -> Callable[[dict], None]:
    def edit(card: dict) -> None:
        node = card
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return edit


def _model_kinds() -> list[ModelKind]:
    k: list[ModelKind] = []

    def refused(name: str, make: Callable[[Path, Path], Path]) -> None:
        k.append(ModelKind(name, make, "refused"))

    refused("empty file", lambda b, d: _write(d / "empty.genre", b""))
    refused("not a zip", lambda b, d: _write(d / "text.genre", b"just text\n" * 10))
    refused("truncated zip", lambda b, d: _write(d / "truncated.genre", b.read_bytes()[: len(b.read_bytes()) // 2]))
    refused("zip without a card", lambda b, d: _zip_without_card(d / "nocard.genre"))
    refused("card is not JSON", lambda b, d: reseal(b, d / "notjson.genre", card_bytes=b"{not json"))
    refused("card nested 10^5 deep", lambda b, d: reseal(
        b, d / "deep.genre", card_bytes=b'{"format": "genrekit-model", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"))
    refused("card hash mismatch", lambda b, d: _tamper_card(b, d / "tampered-card.genre"))
    refused("member bytes changed", lambda b, d: _tamper_member(b, d / "tampered-onnx.genre"))
    refused("unlisted member", lambda b, d: _add_unlisted(b, d / "unlisted.genre"))
    refused("zip bomb", lambda b, d: _zip_bomb(b, d / "bomb.genre"))
    refused("ONNX that is not ONNX", lambda b, d: reseal(b, d / "garbage-onnx.genre",
                                                          members_edit=lambda m: m.update({"model.onnx": b"\x00" * 64})))
    refused("external-data tensor", lambda b, d: _onnx_edit(b, d / "external.genre", _external_data))
    refused("foreign operator domain", lambda b, d: _onnx_edit(
        b, d / "domain.genre", lambda p: p.opset_import.add(domain="evil.custom", version=1)))  # type: ignore[attr-defined]
    refused("window of 1e-5 s", lambda b, d: reseal(b, d / "tiny-window.genre", card_edit=_set("windowing.window", 1e-5)))
    refused("negative window", lambda b, d: reseal(b, d / "neg-window.genre", card_edit=_set("windowing.window", -3.0)))
    refused("window as a string", lambda b, d: reseal(b, d / "str-window.genre",
                                                       card_edit=_set("windowing.window", "3")))
    refused("sample rate 2*10^8", lambda b, d: reseal(b, d / "rate.genre",
                                                       card_edit=_set("feature_set.sample_rate", 200_000_000)))
    refused("unknown feature set", lambda b, d: reseal(b, d / "unknown-set.genre",
                                                        card_edit=_set("feature_set.name", "no_such_set")))
    refused("unknown feature-set option", lambda b, d: reseal(b, d / "option.genre",
                                                               card_edit=_set("feature_set.options", {"evil": 1})))
    refused("options not a dict", lambda b, d: reseal(b, d / "options-list.genre",
                                                       card_edit=_set("feature_set.options", [1, 2])))
    refused("labels not matching the graph", lambda b, d: reseal(b, d / "labels.genre",
                                                                  card_edit=lambda c: c["labels"].append("extra")))
    refused("ensemble with no members", lambda b, d: reseal(b, d / "ensemble.genre",
                                                             card_edit=_set("model", {"kind": "ensemble",
                                                                                      "members": []})))
    k.append(ModelKind("labels with markup and ESC", _markup_labels, "runs"))
    return k


def _markup_labels(src: Path, folder: Path) -> Path:
    """The same model with every label wrapped in rich markup and an ESC sequence that retitles a terminal."""
    import onnx

    with zipfile.ZipFile(src) as zf:
        proto = onnx.load_model_from_string(zf.read("model.onnx"))
        labels = [f"[red]{x}[/red]\x1b]0;t\x07" for x in json.loads(zf.read("card.json"))["labels"]]
    for prop in proto.metadata_props:
        if prop.key == "genrekit.labels":
            prop.value = json.dumps(labels)
    data = proto.SerializeToString()
    return reseal(src, folder / "labels-markup.genre", card_edit=lambda c: c.update(labels=labels),
                  members_edit=lambda m: m.update({"model.onnx": data}))


def _zip_without_card(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("model.onnx", b"\x00")
    return path


def _rezip(src: Path, dst: Path, edit: Callable[[dict[str, bytes]], None]) -> Path:
    """Copy a model file's members with ``edit`` applied and nothing resealed (what a careless tamperer does)."""
    with zipfile.ZipFile(src) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    edit(members)
    with zipfile.ZipFile(dst, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    return dst


def _reverse_labels(members: dict[str, bytes]) -> None:
    card = json.loads(members["card.json"])
    card["labels"] = list(reversed(card["labels"]))
    members["card.json"] = json.dumps(card).encode()


def _flip_a_weight_byte(members: dict[str, bytes]) -> None:
    onnx_bytes = bytearray(members["model.onnx"])
    onnx_bytes[-10] ^= 0xFF
    members["model.onnx"] = bytes(onnx_bytes)


def _tamper_card(src: Path, dst: Path) -> Path:
    return _rezip(src, dst, _reverse_labels)


def _tamper_member(src: Path, dst: Path) -> Path:
    return _rezip(src, dst, _flip_a_weight_byte)


def _add_unlisted(src: Path, dst: Path) -> Path:
    return _rezip(src, dst, lambda members: members.update({"evil.pkl": b"\x80\x04K\x01."}))


MODEL_KINDS: list[ModelKind] = _model_kinds()


def make_model_files(base: Path, folder: Path) -> dict[Path, ModelKind]:
    """Every model kind, made from the valid model file ``base`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return {kind.make(base, folder): kind for kind in MODEL_KINDS}
