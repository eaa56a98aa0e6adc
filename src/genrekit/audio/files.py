"""Which files are audio, and finding them in folders.

A folder search must neither skip audio genrekit cannot decode (an ape file
silently left out of a batch is a wrong answer nobody sees: it is returned
and then refused with a clear error) nor stop at what a file system can throw
at it: names that are not valid UTF-8, folders it may not read, symlink loops.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

AUDIO_EXTENSIONS = frozenset({
    # libsndfile
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".mp2", ".au", ".snd", ".aif", ".aiff", ".aifc",
    ".w64", ".caf",
    # PyAV (FFmpeg): the audio track of MP4, Matroska/WebM and ASF containers, and raw AAC, AC-3, AMR, WavPack, TTA
    ".m4a", ".m4b", ".m4r", ".mp4", ".3gp", ".alac", ".aac", ".wma", ".asf", ".webm", ".mkv", ".mka", ".ac3",
    ".eac3", ".amr", ".wv", ".tta",
})
"""File name endings treated as audio when a folder is searched."""

UNSUPPORTED_FORMATS: dict[str, str] = {
    ".m4p": "m4p (AAC protected by Apple's DRM)",
    ".ape": "ape (Monkey's Audio)",
    ".dts": "dts (DTS audio)",
    ".mpc": "mpc (Musepack)",
    ".spx": "spx (Ogg Speex)",
    ".ra": "ra (RealAudio)",
}
"""Audio file endings genrekit finds in folders but cannot decode yet, with what each is."""

UNSUPPORTED_EXTENSIONS = frozenset(UNSUPPORTED_FORMATS)
"""File name endings of audio genrekit reports as unsupported rather than skipping."""


def is_audio_file(path: Path) -> bool:
    """Whether a folder search takes ``path`` as audio genrekit decodes (by its ending; hidden files are not)."""
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


def is_unsupported_audio_file(path: Path) -> bool:
    """Whether ``path`` is named as audio in a format genrekit cannot decode (ape, m4p, ...)."""
    return path.suffix.lower() in UNSUPPORTED_EXTENSIONS and not path.name.startswith(".")


def unsupported_format(path: Path) -> str | None:
    """What an unsupported audio ending stands for, e.g. ``"ape (Monkey's Audio)"``."""
    return UNSUPPORTED_FORMATS.get(Path(path).suffix.lower())


def _walk(folder: Path) -> list[Path]:
    """Every audio file under ``folder`` (supported or not), following symlinks but never into a loop."""
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    for root, dirs, files in os.walk(folder, followlinks=True, onerror=lambda error: None):
        try:
            st = os.stat(root)
        except OSError:
            dirs[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:  # reached again through a symlink: a loop or a second route
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirs.sort()
        base = Path(root)
        for name in files:
            p = base / name
            if not (is_audio_file(p) or is_unsupported_audio_file(p)):
                continue
            try:
                if p.is_file():
                    found.append(p)
            except OSError:  # a dangling or looping link, a name too long: not a file we can report
                continue
    return found


def find_audio_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and folders (searched recursively) into a list of audio files, each folder's sorted.

    Files named explicitly are kept whatever their ending, so that a user who
    names a broken or oddly named file gets an error for it rather than
    silence. Folder searches also return audio genrekit cannot decode yet
    (:data:`UNSUPPORTED_EXTENSIONS`), for the decoder to refuse by name.
    """
    found: list[Path] = []
    for item in paths:
        p = Path(os.fsdecode(item) if isinstance(item, bytes) else item)
        try:
            is_dir = p.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            found.extend(sorted(_walk(p)))
        else:
            found.append(p)
    return found


__all__ = [
    "AUDIO_EXTENSIONS",
    "UNSUPPORTED_EXTENSIONS",
    "UNSUPPORTED_FORMATS",
    "find_audio_files",
    "is_audio_file",
    "is_unsupported_audio_file",
    "unsupported_format",
]
