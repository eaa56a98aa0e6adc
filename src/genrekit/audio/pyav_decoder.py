"""Decoding what libsndfile cannot read (MP4/M4A, Matroska/WebM, ASF/WMA, raw AAC, ...) through PyAV.

PyAV carries FFmpeg inside its wheel, so no system ffmpeg is needed. This
module only turns a container into exact runs of native frames, float32
``(n, channels)``; :mod:`genrekit.audio.decode` checks, downmixes and
resamples them exactly as it does libsndfile's, so both decoders keep one
contract (``probe``, ``stream_audio``, ``read_spans``, the same typed errors).

The hostile-input rules hold here too. The file is opened by genrekit (as an
OS path, so names that are not UTF-8 work) and handed to FFmpeg as a Python
file object, so FFmpeg opens nothing itself; the demuxer is the one the
sniffed magic bytes name, never FFmpeg's own guess (no playlist or concat
demuxer that would follow references to other files); only the audio
stream is decoded; every FFmpeg failure becomes a typed
:class:`~genrekit.errors.AudioError` in genrekit's words; FFmpeg's logging is
off, so nothing reaches the terminal. ``av`` is imported on first use, not
at import time, to keep the CLI's start-up fast.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from genrekit.audio.limits import MAX_BLOCK_BYTES
from genrekit.audio.sniff import Sniffed
from genrekit.errors import (
    AudioError,
    CorruptAudioError,
    InputFailedError,
    UnreadableAudioError,
    UnsupportedAudioError,
)

if TYPE_CHECKING:
    import av.container

DEMUXERS: dict[str, str] = {
    "mp4": "mov",
    "matroska": "matroska",
    "asf": "asf",
    "aac": "aac",
    "ac3": "ac3",
    "eac3": "eac3",
    "amr": "amr",
    "wavpack": "wv",
    "tta": "tta",
}
"""The FFmpeg demuxer for each sniffed kind routed to PyAV (:data:`genrekit.audio.sniff.PYAV_KINDS`)."""

_FORMAT_NAMES = {"mov": "MP4", "matroska": "MATROSKA", "asf": "ASF", "aac": "ADTS", "ac3": "AC3", "eac3": "EAC3",
                 "amr": "AMR", "wv": "WAVPACK", "tta": "TTA"}
""":attr:`AudioInfo.format` for each demuxer, in libsndfile's upper-case style."""

_EXACT_DURATION = frozenset({"mov"})
"""Demuxers whose stream duration counts samples exactly (an MP4's edit list), so decoding stops there.

FFmpeg applies an edit list's start (the AAC encoder's priming samples) but
not its end, so without this an AAC track would end with up to one frame of
the encoder's padding."""

_ESTIMATED_DURATION = frozenset({"aac", "ac3", "eac3", "amr"})
"""Raw streams, whose duration FFmpeg only estimates from the first frames' bit rate: not a declared length."""

_SEEKABLE = frozenset({"mov"})
"""Demuxers whose timestamps place a frame to the sample, so a seek can be trimmed exactly.

Matroska and ASF time stamps are milliseconds (tens of samples); raw
streams' are estimates. Those are decoded forward from the start instead."""

_PROTECTED_TAGS = frozenset({"drms", "drmi", "enca", "p608"})
"""MP4 sample entries of encrypted audio (Apple FairPlay, common encryption): nothing to decode without a key."""

SEEK_PREROLL_SECONDS = 0.2
"""Decoded and dropped before a seek target: enough for AAC's overlapping transforms to settle."""


def _av():
    """``import av`` with FFmpeg's own logging off (it would print on the terminal, and costs time)."""
    import av
    import av.logging

    av.logging.set_level(None)
    return av


def _ffmpeg_text(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return str(text).strip().rstrip(".")


def _is_ffmpeg_error(error: BaseException) -> bool:
    module = type(error).__module__
    return module == "av" or module.startswith("av.")


class _Reader:
    """A read-only file object over genrekit's descriptor for FFmpeg, whose ``read`` and ``seek`` never raise.

    PyAV prints an exception raised inside these callbacks on stderr ("PyAV
    library exception being dropped"), and a damaged index asks for seeks
    before the start; so a bad seek answers FFmpeg's way (a negative errno)
    and a failed read looks like the end of the file, its error kept for
    genrekit to report.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._at = 0
        self._size = os.fstat(fd).st_size
        self.error: OSError | None = None

    def read(self, count: int = -1) -> bytes:
        try:
            data = os.pread(self._fd, count if count >= 0 else max(self._size - self._at, 0), self._at)
        except OSError as error:
            self.error = error
            return b""
        self._at += len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._at, os.SEEK_END: self._size}.get(whence)
        if base is None or base + offset < 0:
            return -errno.EINVAL
        self._at = base + offset
        return self._at

    def tell(self) -> int:
        return self._at


@dataclass(frozen=True)
class StreamFacts:
    """What a container declares about its audio stream, before genrekit has checked it.

    ``frames`` is ``-1`` when the container does not declare its length;
    ``exact`` says whether it counts samples (else it is the container's
    rounded duration).
    """

    sample_rate: int
    channels: int
    frames: int
    exact: bool
    format: str
    codec: str


class PyAVSource:
    """An opened container's audio stream, read as exact runs of native frames.

    Owns the file descriptor it is given once built (if building fails, the
    caller still owns it). Reads that go forward continue
    decoding where the last one stopped; a read that goes back seeks (MP4)
    or starts again from the beginning.
    """

    def __init__(self, path: Path, fd: int, sniffed: Sniffed) -> None:
        self.path = path
        self._fd = fd
        self._sniffed = sniffed
        self._demuxer = DEMUXERS[sniffed.kind]
        self._file: _Reader | None = None
        self._container: "av.container.InputContainer | None" = None
        self._frames: Iterator[tuple[int, np.ndarray]] | None = None
        self._held: tuple[int, np.ndarray] | None = None  # the rest of a frame that ran past the last read's stop
        self._cursor = 0  # where the frame after the last one decoded begins
        try:
            self._open()
            self.facts = self._facts()
        except BaseException as error:
            self._close_container()  # the descriptor stays the caller's until this returns
            if isinstance(error, Exception) and not isinstance(error, AudioError):
                raise self._header_error(error) from error
            raise

    def _header_error(self, error: Exception) -> AudioError:
        if self._file is not None and self._file.error is not None:
            return self._read_error()
        if isinstance(error, MemoryError):
            return InputFailedError(self.path, "out of memory while reading the header")
        return CorruptAudioError(self.path, f"{self._sniffed.description}, but its header could not be read "
                                            f"(FFmpeg: {_ffmpeg_text(error)})")

    # ------------------------------------------------------------------------- opening

    def _open(self) -> None:
        """Open (or open again) the container from the file's start; pick its audio stream."""
        av = _av()
        self._close_container()
        self._file = _Reader(self._fd)
        self._container = av.open(self._file, mode="r", format=self._demuxer)  # its errors: see __init__
        audio = self._container.streams.audio
        if not audio:
            others = [s.type for s in self._container.streams]
            held = f"only {', '.join(sorted(set(others)))}" if others else "no streams at all"
            raise UnsupportedAudioError(self.path, f"{self._sniffed.description} with no audio track ({held})")
        self._stream = self._container.streams.best("audio") or audio[0]
        self._frames = None
        self._held = None
        self._cursor = 0

    def _facts(self) -> StreamFacts:
        stream = self._stream
        ctx = stream.codec_context
        try:
            tag = str(stream.codec_context.codec_tag or "").lower()
        except UnicodeDecodeError:  # a tag of bytes that are not ASCII: no sample entry genrekit knows
            tag = ""
        if tag in _PROTECTED_TAGS:
            raise UnsupportedAudioError(self.path, f"{self._sniffed.description} of encrypted (DRM) audio "
                                                   f"(sample entry {tag!r}), which genrekit cannot decode")
        rate = int(ctx.sample_rate or 0)
        channels = int(getattr(ctx, "channels", 0) or 0)
        frames, exact = -1, False
        if self._demuxer not in _ESTIMATED_DURATION and rate > 0:
            if stream.duration is not None and stream.duration > 0 and self._demuxer in _EXACT_DURATION:
                frames, exact = int(round(stream.duration * stream.time_base * rate)), True
            elif self._container.duration is not None and self._container.duration > 0:
                frames = int(round(self._container.duration * rate / 1_000_000))
        return StreamFacts(rate, channels, frames, exact, _FORMAT_NAMES[self._demuxer], str(ctx.name or "").upper())

    def close(self) -> None:
        """Close the container and the file descriptor (safe to call twice)."""
        self._close_container()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _close_container(self) -> None:
        self._frames = None
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # closing a half-broken container must not hide the real error
                pass
            self._container = None
        self._file = None

    # ------------------------------------------------------------------------- reading

    @property
    def seekable(self) -> bool:
        """Whether a read can seek to any sample (else it decodes forward from where decoding is)."""
        return self._demuxer in _SEEKABLE

    def read(self, start: int, stop: int | None, block: int) -> Iterator[np.ndarray]:
        """Native frames ``start`` to ``stop`` (exclusive; ``None``: the end), float32 ``(n, channels)``.

        Frames come in runs of at least ``block`` frames (the last may be
        shorter; a run ends early where the channel count changes), with
        ``frame n`` meaning the n-th frame a decode from the start gives.
        Reads past the end of the stream come back short.
        """
        if self.facts.exact:
            stop = self.facts.frames if stop is None else min(stop, self.facts.frames)
        if stop is not None and stop <= start:
            return
        pending: list[np.ndarray] = []
        count = 0
        for at, frames in self._frames_from(start):
            end = at + len(frames)
            if stop is not None and end > stop:
                self._held = (stop, frames[stop - at:])
                frames = frames[:stop - at]
            if pending and frames.shape[1] != pending[0].shape[1]:
                yield _joined(pending)
                pending, count = [], 0
            pending.append(frames)
            count += len(frames)
            if count >= block:
                yield _joined(pending)
                pending, count = [], 0
            if stop is not None and end >= stop:
                break
        if pending:
            yield _joined(pending)

    def _frames_from(self, start: int) -> Iterator[tuple[int, np.ndarray]]:
        """Decoded frames from native frame ``start`` on, as ``(position, frames)``, the first one trimmed."""
        held, self._held = self._held, None
        if not self._reaches(start, held):
            held = None
            self._position_before(start)
        assert self._frames is not None
        if held is not None and held[0] + len(held[1]) > start:
            yield max(held[0], start), held[1][max(start - held[0], 0):]
        for at, frames in self._frames:
            if at + len(frames) <= start:
                continue
            if at < start:
                frames, at = frames[start - at:], start
            yield at, frames

    def _reaches(self, start: int, held: tuple[int, np.ndarray] | None) -> bool:
        """Whether decoding on from where it is reaches ``start`` soon enough to beat seeking or starting over."""
        if self._frames is None:
            return False
        next_frame = held[0] if held is not None else self._cursor
        if next_frame > start:
            return False
        return not self.seekable or start - next_frame <= 2 * SEEK_PREROLL_SECONDS * self.facts.sample_rate

    def _position_before(self, start: int) -> None:
        """Make the next decoded frames begin at or before native frame ``start``: seek, or start over."""
        rate = self.facts.sample_rate
        target = max(start - int(SEEK_PREROLL_SECONDS * rate), 0)
        if target > 0 and self.seekable:
            origin = self._stream.start_time or 0
            try:
                self._container.seek(origin + int(Fraction(target, rate) / self._stream.time_base),
                                     stream=self._stream, backward=True)
            except Exception as error:  # av.error.*: a seek the index cannot do
                raise self._decoding_error(error, start) from error
            self._frames = self._decode(None)
        else:
            if self._frames is not None:  # demuxers without exact seeking: the only sure way back is from the top
                try:
                    self._open()
                except AudioError:
                    raise
                except Exception as error:  # av.error.*, as when the file was first opened
                    raise self._header_error(error) from error
            self._frames = self._decode(0)

    def _decode(self, first: int | None) -> Iterator[tuple[int, np.ndarray]]:
        """Every frame from the container's current place: ``(position, frames)``.

        ``first`` is the first frame's position; ``None`` (after a seek)
        reads it from the frame's time stamp.
        """
        stream, rate = self._stream, self.facts.sample_rate
        origin = stream.start_time or 0
        at = first
        try:
            for packet in self._container.demux(stream):
                for frame in packet.decode():
                    if at is None:
                        if frame.pts is None:
                            raise CorruptAudioError(self.path, "a frame after a seek has no time stamp")
                        at = int(round((frame.pts - origin) * stream.time_base * rate))
                    if frame.sample_rate != rate:
                        raise CorruptAudioError(self.path, f"the sample rate changes from {rate} Hz to "
                                                           f"{frame.sample_rate} Hz at {at / rate:.2f} s")
                    frames = _as_float32(self.path, frame, at / rate)
                    self._cursor = at + len(frames)
                    yield at, frames
                    at += len(frames)
            if self._file is not None and self._file.error is not None:
                raise self._read_error()  # what looked like the end of the file was a failed read
        except AudioError:
            raise
        except MemoryError as error:
            raise InputFailedError(self.path, f"out of memory while decoding at {(at or 0) / rate:.2f} s") from error
        except Exception as error:
            if not _is_ffmpeg_error(error):
                raise  # genrekit.audio.decode words it as a decoding failure
            raise self._decoding_error(error, at or 0) from error

    def _read_error(self) -> UnreadableAudioError:
        error = self._file.error if self._file is not None else None
        return UnreadableAudioError(self.path, f"reading failed: {getattr(error, 'strerror', None) or error}")

    def _decoding_error(self, error: BaseException, at: int) -> AudioError:
        if self._file is not None and self._file.error is not None:
            return self._read_error()
        return CorruptAudioError(self.path, f"decoding failed at {at / self.facts.sample_rate:.2f} s "
                                            f"(FFmpeg: {_ffmpeg_text(error)})")


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


_SCALES = {np.dtype(np.int16): 2.0 ** 15, np.dtype(np.int32): 2.0 ** 31, np.dtype(np.int64): 2.0 ** 63}


def _as_float32(path: Path, frame, position: float) -> np.ndarray:
    """An audio frame as float32 ``(samples, channels)``, integers scaled as libsndfile scales them."""
    channels = frame.layout.nb_channels if hasattr(frame.layout, "nb_channels") else len(frame.layout.channels)
    if channels < 1 or frame.samples * channels * 4 > MAX_BLOCK_BYTES:
        raise CorruptAudioError(path, f"a frame at {position:.2f} s holds {frame.samples} samples of {channels} "
                                      "channels, beyond what any codec writes")
    data = frame.to_ndarray()
    data = data.T if frame.format.is_planar else data.reshape(-1, channels)
    if data.dtype == np.uint8:
        return ((data.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    scale = _SCALES.get(data.dtype)
    if scale is not None:
        return (data / scale).astype(np.float32)
    return data.astype(np.float32, copy=False)


def open_source(path: Path, fd: int, sniffed: Sniffed) -> PyAVSource:
    """Open ``fd`` with the demuxer ``sniffed`` names; the source owns ``fd`` once this returns."""
    return PyAVSource(path, fd, sniffed)


__all__ = ["DEMUXERS", "SEEK_PREROLL_SECONDS", "PyAVSource", "StreamFacts", "open_source"]
