"""Opening, probing and decoding audio files, block by block, with every failure typed.

Decoding goes through libsndfile (``soundfile``: wav, flac, ogg/vorbis, opus,
mp3, au/snd, aiff, ...) wherever it can read the file (it is what
``librosa.load`` uses, and faster), and through PyAV (FFmpeg) for what it
cannot: m4a/AAC, ALAC, WMA, the audio track of mp4/webm/mkv, raw AAC, AC-3,
AMR, WavPack, TTA (:mod:`genrekit.audio.pyav_decoder`); the file's sniffed
magic bytes choose, never its name. Resampling goes through ``soxr`` at the
quality librosa uses by default, and downmixing averages the channels, so
``load_audio(path)`` gives the same samples as ``librosa.load(path)`` for
what libsndfile reads, and both decoders share one contract and one set of
checks.

Everything here assumes hostile input. A file is opened by genrekit itself
(as an OS path, so names that are not valid UTF-8 work) and handed to
libsndfile as a file descriptor (to PyAV as a file object); its header is checked against
:mod:`genrekit.audio.limits` before anything is allocated from it; decoding
runs in blocks of bounded size, so memory does not grow with the file (a
header claiming billions of frames allocates nothing); and every failure,
libsndfile's and soxr's included, is raised as a :class:`genrekit.errors.AudioError`
naming the file, in genrekit's words.
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

import numpy as np

from genrekit.audio.files import unsupported_format
from genrekit.audio.headers import DeclaredHeader, ogg_end_missing, read_declared_header, read_mpeg_alignment
from genrekit.audio.limits import (
    BLOCK_SECONDS,
    DEFAULT_SAMPLE_RATE,
    MAX_AMPLITUDE,
    MAX_BLOCK_BYTES,
    MAX_CHANNELS,
    MAX_DECLARED_SECONDS,
    MAX_SAMPLE_RATE,
    MAX_WHOLE_FILE_SECONDS,
    MIN_SAMPLE_RATE,
    SPAN_MARGIN_SECONDS,
    TRUNCATION_SLACK_SECONDS,
    TRUNCATION_TOLERANCE,
)
from genrekit.audio.pyav_decoder import PyAVSource, open_source
from genrekit.audio.signal import StreamResampler, to_mono
from genrekit.audio.sniff import PYAV_KINDS, SNIFF_BYTES, Sniffed, sniff
from genrekit.errors import (
    AudioError,
    AudioNotFoundError,
    ConfigError,
    CorruptAudioError,
    EmptyAudioError,
    InputFailedError,
    NonFiniteAudioError,
    UnreadableAudioError,
    UnsupportedAudioError,
)

if TYPE_CHECKING:
    import soundfile

_UNKNOWN_FRAMES = 2**62  # libsndfile reports SF_COUNT_MAX (or nonsense) when it cannot tell


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header declares, once genrekit has checked it.

    ``frames`` and ``duration`` (seconds) are ``-1`` when the format does not say.
    """

    path: Path
    sample_rate: int
    channels: int
    frames: int
    duration: float
    format: str
    subtype: str


def _as_path(path: str | bytes | os.PathLike[str]) -> Path:
    if isinstance(path, bytes):
        return Path(os.fsdecode(path))
    return Path(path)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "it is a folder, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "it is a device, not a regular file"
    if stat.S_ISFIFO(mode):
        return "it is a named pipe, not a regular file"
    if stat.S_ISSOCK(mode):
        return "it is a socket, not a regular file"
    return "it is not a regular file"


def _os_error(path: Path, error: OSError) -> AudioError:
    if isinstance(error, (FileNotFoundError, NotADirectoryError)):
        return AudioNotFoundError(path)
    if isinstance(error, PermissionError):
        return UnreadableAudioError(path, "permission denied: this user may not read it")
    if isinstance(error, IsADirectoryError):
        return UnreadableAudioError(path, "it is a folder, not a file")
    return UnreadableAudioError(path, error.strerror or str(error))


def _open_fd(path: Path) -> tuple[int, int]:
    """Open ``path`` for reading as an OS path: ``(fd, size)``; refuses what is not a non-empty regular file."""
    try:
        st = os.stat(path)
    except OSError as error:
        raise _os_error(path, error) from error
    if not stat.S_ISREG(st.st_mode):
        raise UnreadableAudioError(path, _file_kind(st.st_mode))
    if st.st_size == 0:
        raise EmptyAudioError(path, "the file is 0 bytes long")
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(os.fsencode(path), flags)
    except OSError as error:
        raise _os_error(path, error) from error
    try:
        st = os.fstat(fd)  # what was opened, not what was stat'ed a moment ago
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableAudioError(path, _file_kind(st.st_mode))
        if st.st_size == 0:
            raise EmptyAudioError(path, "the file is 0 bytes long")
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_size


def _reader(fd: int, path: Path):
    def read_at(offset: int, count: int) -> bytes:
        try:
            return os.pread(fd, count, offset)
        except OSError as error:
            raise UnreadableAudioError(path, f"reading failed: {error.strerror or error}") from error

    return read_at


def _not_audio(path: Path, sniffed: Sniffed) -> UnsupportedAudioError:
    what = sniffed.description if sniffed.category == "unknown" else f"looks like {sniffed.description}"
    return UnsupportedAudioError(path, f"not an audio file genrekit can read ({what})")


def _unsupported_by_name(path: Path, what: str, sniffed: Sniffed) -> UnsupportedAudioError:
    detail = f"{what} is not supported by this genrekit yet"
    if sniffed.category == "other":
        detail += f"; the file looks like {sniffed.description}"
    return UnsupportedAudioError(path, detail)


def _check_rate_and_channels(path: Path, rate: int | None, channels: int | None, header: str = "") -> None:
    """Refuse a sample rate or channel count outside genrekit's limits; ``header`` names where they were read."""
    where = ""
    if header:
        figures = [f"{rate} Hz" if rate is not None else "", f"{channels} channel{'s' * (channels != 1)}"
                   if channels is not None else ""]
        where = f"; the {header} header declares {', '.join(f for f in figures if f)}"
    if rate is not None and not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise UnsupportedAudioError(
            path, f"unsupported sample rate {rate} Hz (genrekit reads {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz){where}"
        )
    if channels is not None and not 1 <= channels <= MAX_CHANNELS:
        raise UnsupportedAudioError(
            path, f"unsupported channel count {channels} (genrekit reads 1-{MAX_CHANNELS} channels){where}"
        )


def _check_declared(path: Path, declared: DeclaredHeader | None, size: int) -> None:
    """Refuse a WAV/AU header's own figures before libsndfile sees them, and a truncated data chunk."""
    if declared is None:
        return
    _check_rate_and_channels(path, declared.sample_rate, declared.channels, declared.format)
    missing = declared.missing_bytes(size)
    if missing is not None and missing[1] < TRUNCATION_TOLERANCE * missing[0]:
        want, have = missing
        want_s, have_s = declared.seconds(want), declared.seconds(have)
        timing = f" ({want_s:.2f} s announced, {have_s:.2f} s present)" if want_s is not None else ""
        raise CorruptAudioError(
            path,
            f"the {declared.format} header announces {want} bytes of audio data but the file holds {have}{timing}; "
            "the file is truncated",
        )


def _libsndfile_text(error: Exception) -> str:
    text = getattr(error, "error_string", None) or str(error)
    return text.strip().rstrip(".")


@dataclass
class _Opened:
    """An open, checked file: the descriptor genrekit owns and libsndfile's handle on it."""

    fd: int
    sf: "soundfile.SoundFile"
    info: AudioInfo
    frame_alignment: tuple[int, int] | None = None  # MPEG: (samples per frame, samples skipped at the start)
    exact_length = True  # libsndfile's frame count is the header's own

    def close(self) -> None:
        try:
            self.sf.close()
        except Exception:  # closing a half-broken handle must not hide the real error
            pass
        finally:
            os.close(self.fd)


@dataclass
class _OpenedAV:
    """An open, checked container whose audio stream PyAV decodes."""

    source: PyAVSource
    info: AudioInfo
    exact_length: bool  # an MP4's sample count, not a rounded or estimated duration

    def close(self) -> None:
        self.source.close()


def _open(path: Path) -> _Opened | _OpenedAV:
    """Open, sniff, check and hand to libsndfile or PyAV; every refusal typed and worded by genrekit."""
    import soundfile as sf

    fd, size = _open_fd(path)
    try:
        read_at = _reader(fd, path)
        head = read_at(0, SNIFF_BYTES)
        sniffed = sniff(head, read_at)
        what = unsupported_format(path)
        if what is not None and sniffed.category != "audio":
            raise _unsupported_by_name(path, what, sniffed)
        if sniffed.refused:
            raise _not_audio(path, sniffed)
        if sniffed.kind in PYAV_KINDS:
            source = open_source(path, fd, sniffed)  # owns fd from here on
    except BaseException:
        os.close(fd)
        raise
    if sniffed.kind in PYAV_KINDS:
        return _open_av(path, source)
    try:
        _check_declared(path, read_declared_header(read_at), size)
        try:
            handle = sf.SoundFile(fd, closefd=False)
        except Exception as error:  # LibsndfileError, or anything soundfile's own checks raise
            raise _refusal(path, sniffed, error) from error
        try:
            info = _checked_info(path, int(handle.samplerate), int(handle.channels), int(handle.frames),
                                 str(handle.format), str(handle.subtype))
        except BaseException:
            handle.close()
            raise
        alignment = read_mpeg_alignment(read_at) if info.format == "MP3" else None
        cut = ogg_end_missing(read_at, size) if info.format == "OGG" else None
        if cut is not None:
            handle.close()
            raise CorruptAudioError(path, f"{cut}: the file is truncated (it would decode as a shorter song)")
    except BaseException:
        os.close(fd)
        raise
    return _Opened(fd, handle, info, alignment)


def _refusal(path: Path, sniffed: Sniffed, error: Exception) -> AudioError:
    text = _libsndfile_text(error)
    if isinstance(error, MemoryError):
        return InputFailedError(path, "out of memory while reading the header")
    if sniffed.category == "unknown":
        if "not recognised" in text.lower() or "not a regular file" in text.lower():
            return _not_audio(path, sniffed)
        return CorruptAudioError(path, f"the header could not be read (libsndfile: {text})")
    return CorruptAudioError(path, f"{sniffed.description}, but its header could not be read (libsndfile: {text})")


def _open_av(path: Path, source: PyAVSource) -> _OpenedAV:
    facts = source.facts
    try:
        info = _checked_info(path, facts.sample_rate, facts.channels, facts.frames, facts.format, facts.codec,
                             header=f"{facts.format} {facts.codec}")
    except BaseException:
        source.close()
        raise
    return _OpenedAV(source, info, facts.exact)


def _checked_info(path: Path, rate: int, channels: int, frames: int, format: str, subtype: str,
                  header: str = "") -> AudioInfo:
    """The checked :class:`AudioInfo` of what a decoder reports; ``header`` names it in a refusal."""
    _check_rate_and_channels(path, rate, channels, header)
    if frames < 0 or frames >= _UNKNOWN_FRAMES:
        frames = -1
    duration = frames / rate if frames >= 0 else -1.0
    if duration > MAX_DECLARED_SECONDS:
        raise CorruptAudioError(
            path,
            f"the header announces {frames} frames, {duration / 3600:.1f} h at {rate} Hz; genrekit reads at most "
            f"{MAX_DECLARED_SECONDS / 3600:g} h, so the header is corrupt",
        )
    return AudioInfo(path, rate, channels, frames, duration, format, subtype)


def probe(path: str | bytes | os.PathLike[str]) -> AudioInfo:
    """Open ``path``, check its header against genrekit's limits, and say what it declares.

    Reads only the header. Raises :class:`AudioNotFoundError`,
    :class:`UnreadableAudioError` (permission denied, a folder, a device),
    :class:`EmptyAudioError` (0 bytes), :class:`UnsupportedAudioError` (not
    audio, an unsupported format, a sample rate or channel count out of
    range) or :class:`CorruptAudioError` (a damaged or absurd header, a
    truncated WAV/AU).
    """
    opened = _open(_as_path(path))
    opened.close()
    return opened.info


def _block_frames(block_seconds: float, native_sr: int, channels: int) -> int:
    wanted = int(round(block_seconds * native_sr))
    return max(1, min(wanted, MAX_BLOCK_BYTES // (4 * channels)))


def _check_stream_args(sr: int, offset: float, duration: float | None, block_seconds: float) -> None:
    whole = not isinstance(sr, bool) and isinstance(sr, (int, float, np.number)) and math.isfinite(sr) and sr == int(sr)
    if not whole or not MIN_SAMPLE_RATE <= sr <= MAX_SAMPLE_RATE:
        raise ConfigError(f"sr must be a whole number of Hz in {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE}, got {sr!r}")
    if not (math.isfinite(offset) and offset >= 0) or (duration is not None and not (math.isfinite(duration) and duration > 0)):
        raise ConfigError("offset must be >= 0 and duration > 0")
    if not (math.isfinite(block_seconds) and block_seconds > 0):
        raise ConfigError(f"block_seconds must be > 0, got {block_seconds}")


def stream_audio(
    path: str | bytes | os.PathLike[str],
    sr: int = DEFAULT_SAMPLE_RATE,
    *,
    offset: float = 0.0,
    duration: float | None = None,
    block_seconds: float = BLOCK_SECONDS,
) -> Iterator[np.ndarray]:
    """Decode ``path`` as mono float32 blocks at ``sr`` Hz, holding about one block at a time.

    The file is probed at once (so a missing, unreadable or refused file
    raises here); decoding starts with the first ``next()``. Blocks are read
    ``block_seconds`` of native audio at a time (fewer at high rates and
    channel counts), downmixed, checked for NaN/infinity and resampled by a
    streaming soxr filter, so ``np.concatenate(list(stream_audio(...)))``
    equals :func:`load_audio`'s result exactly. ``offset`` seconds are
    skipped (seeking where the format allows) and at most ``duration``
    seconds read. Blocks may differ in length; none is empty.

    Raises, while streaming: :class:`NonFiniteAudioError`,
    :class:`EmptyAudioError` (nothing decoded), :class:`CorruptAudioError`
    (a decoder error, or fewer frames than the header announces).
    """
    path = _as_path(path)
    _check_stream_args(sr, offset, duration, block_seconds)
    probe(path)
    return _stream(path, int(sr), offset, duration, block_seconds)


def _stream(path: Path, sr: int, offset: float, duration: float | None, block_seconds: float) -> Iterator[np.ndarray]:
    opened = _open(path)
    try:
        if isinstance(opened, _OpenedAV):
            yield from _decode_av(path, opened, sr, offset, duration, block_seconds)
        else:
            yield from _decode(path, opened, sr, offset, duration, block_seconds)
    finally:
        opened.close()


def _decoder_error(path: Path, error: BaseException, position: float) -> AudioError:
    if isinstance(error, MemoryError):
        return InputFailedError(path, f"out of memory while decoding at {position:.2f} s")
    text = _libsndfile_text(error) if hasattr(error, "error_string") else f"{type(error).__name__}: {error}"
    return CorruptAudioError(path, f"decoding failed at {position:.2f} s ({text})")


def _check_block(path: Path, frames: np.ndarray, position: float) -> None:
    """Refuse a decoded block holding NaN or infinite samples, or samples far beyond full scale."""
    peak = float(np.max(np.abs(frames)))
    if not math.isfinite(peak):
        bad = int(frames.size - np.count_nonzero(np.isfinite(frames)))
        raise NonFiniteAudioError(
            path, f"{bad} of {frames.size} samples in the block at {position:.2f} s are NaN or infinite"
        )
    if peak > MAX_AMPLITUDE:
        raise CorruptAudioError(
            path, f"samples reach {peak:.3g} in the block at {position:.2f} s, far beyond full scale (1.0): "
            "the file's float data is damaged")


def _read_past(f: "soundfile.SoundFile", frames: int, block: int) -> int:
    """Read and drop ``frames`` frames of a handle that cannot seek, a block at a time; how many there were."""
    done = 0
    while done < frames:
        got = len(f.read(min(block, frames - done), dtype="float32", always_2d=True))
        if got == 0:
            break
        done += got
    return done


@dataclass
class _Tally:
    """What a decode has read and given so far: native frames in, output samples out, and where it is."""

    offset: float
    native_sr: int
    decoded: int = 0
    yielded: int = 0

    @property
    def position(self) -> float:
        return self.offset + self.decoded / self.native_sr


def _mono_resampled(path: Path, blocks: Iterable[np.ndarray], sr: int, tally: _Tally) -> Iterator[np.ndarray]:
    """Checked, downmixed and resampled output of a decoder's native ``blocks``, counted in ``tally``.

    The one block loop of both decoders (libsndfile and PyAV), so they check,
    downmix and resample alike.
    """
    resampler = StreamResampler(tally.native_sr, sr)
    for frames in blocks:
        _check_block(path, frames, tally.position)
        tally.decoded += len(frames)
        out = resampler.push(np.ascontiguousarray(to_mono(frames), dtype=np.float32))
        del frames
        if len(out):
            tally.yielded += len(out)
            yield out
    if tally.decoded:
        tail = resampler.flush()
        if len(tail):
            tally.yielded += len(tail)
            yield tail


def _sndfile_blocks(f: "soundfile.SoundFile", first: int, block: int, wanted: int) -> Iterator[np.ndarray]:
    """libsndfile's frames from where ``f`` stands: a first read of ``first`` frames, then ``block`` at a time."""
    decoded = 0
    while wanted < 0 or decoded < wanted:
        count = first if decoded == 0 else block
        if wanted >= 0:
            count = min(count, wanted - decoded)
        frames = f.read(count, dtype="float32", always_2d=True)
        if len(frames) == 0:
            break
        decoded += len(frames)
        yield frames


def _decode(path: Path, opened: _Opened, sr: int, offset: float, duration: float | None,
            block_seconds: float) -> Iterator[np.ndarray]:
    f, info = opened.sf, opened.info
    native_sr = info.sample_rate
    start = int(round(offset * native_sr))
    declared = max(info.frames - start, 0) if info.frames > 0 else -1
    wanted = -1 if duration is None else int(round(duration * native_sr))
    block = _block_frames(block_seconds, native_sr, info.channels)
    per_frame, skipped = opened.frame_alignment or (1, 0)
    block = max(per_frame, block // per_frame * per_frame)
    tally = _Tally(offset, native_sr)
    try:
        if start > 0:
            if f.seekable() and info.frames >= 0:
                f.seek(min(start, info.frames))
            else:
                skipped = _read_past(f, start, block)
        # the first read ends where an MPEG frame does: libsndfile's MP3 reader damages what follows a read
        # that ends inside a frame; every other format has per_frame 1
        first = ((-(skipped + f.tell())) % per_frame if per_frame > 1 else 0) or block
        yield from _mono_resampled(path, _sndfile_blocks(f, first, block, wanted), sr, tally)
    except AudioError:
        raise
    except Exception as error:  # libsndfile, soxr or numpy failing on a damaged stream
        raise _decoder_error(path, error, tally.position) from error
    _check_decoded(path, offset, tally.decoded, tally.yielded, native_sr, sr, declared, wanted)


def _decode_av(path: Path, opened: _OpenedAV, sr: int, offset: float, duration: float | None,
               block_seconds: float) -> Iterator[np.ndarray]:
    """:func:`_decode` for a container PyAV reads: the same checks, downmix and resampler."""
    info = opened.info
    native_sr = info.sample_rate
    start = int(round(offset * native_sr))
    declared = max(info.frames - start, 0) if info.frames > 0 else -1
    wanted = -1 if duration is None else int(round(duration * native_sr))
    block = _block_frames(block_seconds, native_sr, info.channels)
    tally = _Tally(offset, native_sr)
    try:
        blocks = opened.source.read(start, start + wanted if wanted >= 0 else None, block)
        yield from _mono_resampled(path, blocks, sr, tally)
    except AudioError:
        raise
    except Exception as error:  # soxr or numpy failing on a damaged stream (FFmpeg's own errors come typed)
        raise _decoder_error(path, error, tally.position) from error
    slack = int(TRUNCATION_SLACK_SECONDS * native_sr)  # a container's length counts codec delay and padding
    _check_decoded(path, offset, tally.decoded, tally.yielded, native_sr, sr, declared, wanted, slack)


def _check_decoded(path: Path, offset: float, decoded: int, yielded: int, native_sr: int, sr: int, declared: int,
                   wanted: int, slack: int = 0) -> None:
    """Refuse a stream that gave nothing, or fewer frames than its header announces (less ``slack`` frames)."""
    if decoded == 0:
        raise EmptyAudioError(path, "the file decodes to 0 samples" if offset == 0 else f"nothing after {offset} s")
    if yielded == 0:
        raise EmptyAudioError(path, f"{decoded} frames at {native_sr} Hz give no samples at {sr} Hz")
    expected = declared if wanted < 0 else min(wanted, declared) if declared >= 0 else wanted
    if expected > 0 and decoded < TRUNCATION_TOLERANCE * expected - slack:
        raise CorruptAudioError(
            path, f"decoded {decoded} of {expected} frames the header announces; the file is truncated or damaged"
        )


def resampled_length(frames: int, native_sr: int, sr: int) -> int:
    """How many samples at ``sr`` Hz decoding ``frames`` native frames gives (soxr rounds half up)."""
    if frames < 0:
        return -1
    return (2 * frames * sr + native_sr) // (2 * native_sr)


def _check_spans(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    checked = []
    for span in spans:
        try:
            start, length = (float(v) for v in span)
        except (TypeError, ValueError):
            raise ConfigError(f"a span is (start_seconds, length_seconds), got {span!r}") from None
        if not (math.isfinite(start) and start >= 0 and math.isfinite(length) and length > 0):
            raise ConfigError(f"a span needs start >= 0 and length > 0 seconds, got {span!r}")
        if length > MAX_WHOLE_FILE_SECONDS:
            raise ConfigError(f"a span lasts at most {MAX_WHOLE_FILE_SECONDS:g} s, got {length:g} s")
        checked.append((start, length))
    return checked


def read_spans(
    path: str | bytes | os.PathLike[str],
    sr: int = DEFAULT_SAMPLE_RATE,
    spans: Sequence[tuple[float, float]] = (),
    *,
    margin: float = SPAN_MARGIN_SECONDS,
) -> Iterator[tuple[float, np.ndarray]]:
    """Decode just the ``(start_seconds, length_seconds)`` spans of ``path``: ``(start_seconds, samples)`` each.

    Each span is sought to (libsndfile seeks in wav, flac, ogg, mp3, ...;
    PyAV in MP4/M4A, and decodes other containers forward from where it is,
    starting over only for a span before the last), read with ``margin`` seconds either side, downmixed, checked and
    resampled alone, then trimmed, so its samples are those of
    ``load_audio(path, sr)[round(start * sr):][:round(length * sr)]`` up to
    the resampler's edge effects, which the margin keeps out (see
    docs/results.md, "How many windows a verdict needs", for the measured
    differences). The read starts on a sample where the resampled grid of
    the whole file falls on a native frame, and MP3 reads start and end on
    MPEG frame boundaries, as :func:`stream_audio`'s do. A span running past
    the end of the audio comes back shorter, one wholly past it empty: the
    caller, who knows what the header announced, decides whether that is a
    truncated file. Holds one span at a time. The file is probed at once;
    decoding starts with the first ``next()``; errors are typed as in
    :func:`stream_audio`.
    """
    path = _as_path(path)
    _check_stream_args(sr, 0.0, None, BLOCK_SECONDS)
    checked = _check_spans(spans)
    if not (math.isfinite(margin) and margin >= 0):
        raise ConfigError(f"margin must be >= 0 seconds, got {margin}")
    probe(path)
    return _read_spans(path, int(sr), checked, margin)


def _read_spans(path: Path, sr: int, spans: list[tuple[float, float]], margin: float) -> Iterator[tuple[float, np.ndarray]]:
    opened = _open(path)
    try:
        for start, length in spans:
            if isinstance(opened, _Opened) and not opened.sf.seekable():  # from the start, on a fresh handle
                opened.close()
                opened = _open(path)
            yield _read_span(path, opened, sr, start, length, margin)
    finally:
        opened.close()


def _read_span(path: Path, opened: _Opened | _OpenedAV, sr: int, start: float, length: float,
               margin: float) -> tuple[float, np.ndarray]:
    info = opened.info
    native = info.sample_rate
    first_out, n_out = int(round(start * sr)), max(int(round(length * sr)), 1)
    grid = native // math.gcd(native, sr)  # native frames between the samples both rates share
    pad = int(math.ceil(margin * native))
    lo = max(first_out * native // sr - pad, 0) // grid * grid
    lo_out = lo * sr // native  # exact: lo is on the shared grid, so the resampled span starts on the file's grid
    hi = -(-(first_out + n_out) * native // sr) + pad + 1
    if info.frames >= 0 and opened.exact_length:
        lo, hi = min(lo, info.frames), min(hi, info.frames)
    if lo >= hi:
        return first_out / sr, np.zeros(0, np.float32)
    # seeking in an MP3 makes libmpg123 decode frames before the target without their bit reservoir, and it
    # prints an error for each on the process's stderr though the samples it returns are right; keep it quiet
    if isinstance(opened, _OpenedAV):
        y = _read_native_av(path, opened, sr, lo, hi)
    else:
        with _quiet_stderr() if info.format == "MP3" else contextlib.nullcontext():
            y = _read_native(path, opened, sr, lo, hi)
    skip = first_out - lo_out
    return first_out / sr, np.ascontiguousarray(y[skip:skip + n_out], dtype=np.float32)


def _read_native(path: Path, opened: _Opened, sr: int, lo: int, hi: int) -> np.ndarray:
    """Native frames ``lo`` to ``hi`` (or the end), downmixed, checked and resampled alone to ``sr`` Hz."""
    f, info = opened.sf, opened.info
    native = info.sample_rate
    per_frame, skipped = opened.frame_alignment or (1, 0)
    at = max(lo - (lo + skipped) % per_frame, 0)  # an MPEG frame's first sample; lo itself elsewhere
    block = _block_frames(BLOCK_SECONDS, native, info.channels)
    block = max(per_frame, block // per_frame * per_frame)
    position = at / native
    parts: list[np.ndarray] = []
    resampler = StreamResampler(native, sr)
    try:
        if f.seekable():
            at = f.seek(at)
        else:  # only reached on a fresh handle (see _read_spans): read from the start
            at = _read_past(f, at, block)
        drop = max(lo - at, 0)
        started = False
        while at < hi:
            end = min(at + block, hi)
            end += (-(end + skipped)) % per_frame  # MP3: end the read where an MPEG frame does
            frames = f.read(end - at, dtype="float32", always_2d=True)
            if len(frames) == 0:
                break
            _check_block(path, frames, position)
            at += len(frames)
            position = at / native
            mono = np.ascontiguousarray(to_mono(frames), dtype=np.float32)
            del frames
            if drop:
                mono, drop = mono[drop:], max(drop - len(mono), 0)
            if len(mono):
                started = True
                parts.append(resampler.push(mono))
        if started:
            parts.append(resampler.flush())
    except AudioError:
        raise
    except Exception as error:  # libsndfile, soxr or numpy failing on a damaged stream
        raise _decoder_error(path, error, position) from error
    if not parts:
        return np.zeros(0, np.float32)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _read_native_av(path: Path, opened: _OpenedAV, sr: int, lo: int, hi: int) -> np.ndarray:
    """:func:`_read_native` for a container PyAV reads (which seeks, or decodes forward, and trims exactly)."""
    native = opened.info.sample_rate
    block = _block_frames(BLOCK_SECONDS, native, opened.info.channels)
    position = lo / native
    parts: list[np.ndarray] = []
    try:
        resampler = StreamResampler(native, sr)
        for frames in opened.source.read(lo, hi, block):
            _check_block(path, frames, position)
            position += len(frames) / native
            parts.append(resampler.push(np.ascontiguousarray(to_mono(frames), dtype=np.float32)))
            del frames
        if parts:
            parts.append(resampler.flush())
    except AudioError:
        raise
    except Exception as error:  # soxr or numpy failing on a damaged stream (FFmpeg's own errors come typed)
        raise _decoder_error(path, error, position) from error
    if not parts:
        return np.zeros(0, np.float32)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to the null device for the duration (what C libraries print there is lost)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_audio(
    path: str | bytes | os.PathLike[str],
    sr: int = DEFAULT_SAMPLE_RATE,
    *,
    offset: float = 0.0,
    duration: float | None = None,
) -> np.ndarray:
    """Decode ``path`` to a mono float32 signal at ``sr`` Hz: :func:`stream_audio`'s blocks, joined.

    Parameters
    ----------
    path : audio file in any format libsndfile or PyAV reads (see :mod:`genrekit.audio.decode`).
    sr : target sample rate in Hz; ``None`` is not accepted: genrekit always
        works at a known rate.
    offset : seconds to skip at the start.
    duration : seconds to read after ``offset``; ``None`` reads to the end.

    Returns
    -------
    y : np.ndarray, shape ``(n_samples,)``, float32.

    Raises
    ------
    AudioNotFoundError, UnreadableAudioError, UnsupportedAudioError,
    CorruptAudioError, EmptyAudioError, NonFiniteAudioError
    """
    blocks = list(stream_audio(path, sr, offset=offset, duration=duration))
    y = np.concatenate(blocks) if len(blocks) != 1 else blocks[0]
    return np.ascontiguousarray(y, dtype=np.float32)


__all__ = ["AudioInfo", "load_audio", "probe", "read_spans", "resampled_length", "stream_audio"]
