"""The bounds genrekit puts on what it decodes, in one place.

A hostile or broken header can claim anything: a sample rate of 0 or 1 Hz
(resampling 1 Hz to 22050 Hz takes gigabytes), 100000 channels, billions of
frames. Every figure a header declares is checked against these bounds before
anything is allocated from it, and whole-file analysis (which must hold the
whole signal) is capped, so memory stays bounded whatever the input.
"""

from __future__ import annotations

DEFAULT_SAMPLE_RATE = 22050
"""The sample rate every feature set and model in genrekit works at unless told otherwise."""

MIN_SAMPLE_RATE = 1000
"""Lowest native sample rate genrekit decodes (Hz); below it a header is broken or hostile."""

MAX_SAMPLE_RATE = 768000
"""Highest native sample rate genrekit decodes (Hz): the top rate of professional converters."""

MAX_CHANNELS = 64
"""Most channels genrekit decodes (a 3rd-order ambisonic or 22.2 file has 16 or 24)."""

MAX_DECLARED_SECONDS = 24 * 3600.0
"""Longest duration a header may announce; more is a corrupt or hostile header."""

MAX_WHOLE_FILE_SECONDS = 20 * 60.0
"""Longest signal analysed as one window (``Windowing(window=None)``), which must be held whole."""

MIN_WHOLE_FILE_SECONDS = 1.0
"""Shortest signal analysed as one window: a shorter one gives no meaningful whole-file features."""

BLOCK_SECONDS = 4.0
"""Default length of the blocks :func:`genrekit.audio.stream_audio` decodes at a time."""

SPAN_MARGIN_SECONDS = 0.1
"""Audio read either side of a span by :func:`genrekit.audio.read_spans`, so resampling it alone matches the whole file's."""

MAX_BLOCK_BYTES = 16 * 1024 * 1024
"""Most bytes one decoded block may take (float32, all channels): bounds memory at high rates and channel counts."""

MAX_AMPLITUDE = 1000.0
"""Largest sample magnitude accepted (60 dB above full scale 1.0): float data beyond it is damaged, and
would overflow the features' power spectra into infinities."""

TRUNCATION_TOLERANCE = 0.99
"""A stream delivering less than this share of what its header announces is truncated or damaged."""

TRUNCATION_SLACK_SECONDS = 0.1
"""Allowed beyond :data:`TRUNCATION_TOLERANCE` for a container PyAV decodes, whose declared length counts its
codec's delay and padding (WMA decodes 2048 samples, 46 ms at 44.1 kHz, short of what its ASF header says)."""

__all__ = [
    "BLOCK_SECONDS",
    "MAX_AMPLITUDE",
    "DEFAULT_SAMPLE_RATE",
    "MAX_BLOCK_BYTES",
    "MAX_CHANNELS",
    "MAX_DECLARED_SECONDS",
    "MAX_SAMPLE_RATE",
    "MAX_WHOLE_FILE_SECONDS",
    "MIN_SAMPLE_RATE",
    "MIN_WHOLE_FILE_SECONDS",
    "SPAN_MARGIN_SECONDS",
    "TRUNCATION_SLACK_SECONDS",
    "TRUNCATION_TOLERANCE",
]
