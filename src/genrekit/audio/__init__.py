"""Decode any common audio file into a mono float32 signal at one sample rate, safely.

The package is split by job: :mod:`~genrekit.audio.decode` opens, probes and
streams files (through libsndfile, or :mod:`~genrekit.audio.pyav_decoder` for
m4a/AAC, ALAC, WMA and mp4/webm/mkv audio); :mod:`~genrekit.audio.sniff` tells
what a file's first bytes look like, which picks the decoder and words refusals; :mod:`~genrekit.audio.headers`
reads the figures a WAV/AU header declares; :mod:`~genrekit.audio.signal`
downmixes and resamples; :mod:`~genrekit.audio.windows` cuts signals and
streams into analysis windows; :mod:`~genrekit.audio.files` finds audio in
folders; :mod:`~genrekit.audio.limits` holds the bounds that keep memory
bounded on hostile input. Every name is re-exported here, so
``from genrekit.audio import X`` is the one import callers need.
Failures raise the typed errors of :mod:`genrekit.errors`, each naming the file.
"""

from __future__ import annotations

from genrekit.audio.decode import AudioInfo, load_audio, probe, read_spans, resampled_length, stream_audio
from genrekit.audio.files import (
    AUDIO_EXTENSIONS,
    UNSUPPORTED_EXTENSIONS,
    UNSUPPORTED_FORMATS,
    find_audio_files,
    is_audio_file,
    is_unsupported_audio_file,
)
from genrekit.audio.limits import (
    BLOCK_SECONDS,
    DEFAULT_SAMPLE_RATE,
    MAX_AMPLITUDE,
    MAX_CHANNELS,
    MAX_DECLARED_SECONDS,
    MAX_SAMPLE_RATE,
    MAX_WHOLE_FILE_SECONDS,
    MIN_SAMPLE_RATE,
    MIN_WHOLE_FILE_SECONDS,
    SPAN_MARGIN_SECONDS,
)
from genrekit.audio.signal import resample, to_mono
from genrekit.audio.sniff import Sniffed, sniff
from genrekit.audio.windows import Windowing, cut_windows, stream_windows
from genrekit.errors import AudioError

__all__ = [
    "AUDIO_EXTENSIONS",
    "BLOCK_SECONDS",
    "MAX_AMPLITUDE",
    "DEFAULT_SAMPLE_RATE",
    "MAX_CHANNELS",
    "MAX_DECLARED_SECONDS",
    "MAX_SAMPLE_RATE",
    "MAX_WHOLE_FILE_SECONDS",
    "MIN_SAMPLE_RATE",
    "MIN_WHOLE_FILE_SECONDS",
    "SPAN_MARGIN_SECONDS",
    "UNSUPPORTED_EXTENSIONS",
    "UNSUPPORTED_FORMATS",
    "AudioError",
    "AudioInfo",
    "Sniffed",
    "Windowing",
    "cut_windows",
    "find_audio_files",
    "is_audio_file",
    "is_unsupported_audio_file",
    "load_audio",
    "probe",
    "read_spans",
    "resample",
    "resampled_length",
    "sniff",
    "stream_audio",
    "stream_windows",
    "to_mono",
]
