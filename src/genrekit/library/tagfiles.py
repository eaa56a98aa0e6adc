"""Reading and writing the genre tag, format by format, with mutagen.

Three tag families cover every format genrekit tags:

- ID3v2 (mp3, and wav/aiff through their ``id3`` chunk): genre in ``TCON``,
  genrekit's provenance in ``TXXX`` frames ``GENREKIT_MODEL``,
  ``GENREKIT_CONFIDENCE`` and ``GENREKIT_GENRE``; written as ID3v2.4.
- Vorbis comments (flac, ogg, opus): ``GENRE`` and ``GENREKIT_MODEL``,
  ``GENREKIT_CONFIDENCE``, ``GENREKIT_GENRE``.
- MP4 (m4a): ``©gen`` and the freeform atoms ``----:org.genrekit:model``,
  ``...:confidence``, ``...:genre``.

The provenance is what lets a later run tell its own genre from a person's:
a genre is genrekit's only while the genre text still equals the genre
genrekit recorded beside it (:attr:`FileTags.by_genrekit`); a person who edits
the genre afterwards makes it theirs again. genrekit writes one genre value
(several genres are joined into that one text by the caller), because many
players show only the first of several values; reading splits the values a
format stores separately.

Tags are hostile data: anything mutagen raises on a file becomes a
:class:`~genrekit.errors.TagError` naming it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Callable

from genrekit.errors import TagError

ID3_PREFIX = "GENREKIT_"
VORBIS_PREFIX = "GENREKIT_"
MP4_GENRE = "\xa9gen"
MP4_PREFIX = "----:org.genrekit:"
PROVENANCE_FIELDS = ("model", "confidence", "genre")


@dataclass(frozen=True)
class Provenance:
    """genrekit's mark on a genre it wrote."""

    model: str  # the model file's sha256 hex
    confidence: float
    genre: str  # the exact genre text genrekit wrote


@dataclass(frozen=True)
class FileTags:
    """The tags genrekit reads from a file: its genre values, who entered them, and the artists."""

    genres: tuple[str, ...]
    artist: str | None
    album_artist: str | None
    provenance: Provenance | None
    family: str = ""  # "id3", "vorbis" or "mp4": which tag fields were read

    @property
    def by_genrekit(self) -> bool:
        """Whether the current genre is genrekit's: its provenance is there and the genre text still matches it."""
        return self.provenance is not None and self.genres == (self.provenance.genre,)

    @property
    def human_genres(self) -> tuple[str, ...]:
        """The genres a person entered: none when the genre is genrekit's own."""
        return () if self.by_genrekit else self.genres


def _open(path: str | os.PathLike[str]) -> Any:
    """The mutagen file object of ``path``; :class:`TagError` for a missing file or one mutagen cannot parse."""
    import mutagen

    try:
        audio = mutagen.File(os.fspath(path))
    except Exception as error:  # mutagen's own errors and whatever a hostile file provokes in it
        raise TagError(path, f"cannot read its tags ({type(error).__name__}: {error})") from None
    if audio is None:
        raise TagError(path, "genrekit cannot read or write tags in this format")
    family = _family(audio)
    if family is None:
        raise TagError(path, f"genrekit cannot read or write tags in this format ({type(audio).__name__})")
    return audio


def _family(audio: Any) -> str | None:
    from mutagen.flac import FLAC
    from mutagen.id3 import ID3FileType
    from mutagen.mp4 import MP4
    from mutagen.ogg import OggFileType
    from mutagen.wave import WAVE
    from mutagen.aiff import AIFF

    if isinstance(audio, (ID3FileType, WAVE, AIFF)):
        return "id3"
    if isinstance(audio, (FLAC, OggFileType)):
        return "vorbis"
    if isinstance(audio, MP4):
        return "mp4"
    return None


def _provenance(model: str | None, confidence: str | None, genre: str | None) -> Provenance | None:
    """The provenance if all three fields are there and well formed; a damaged mark counts as none."""
    if not model or confidence is None or genre is None:
        return None
    try:
        value = float(confidence)
    except ValueError:
        return None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        return None
    return Provenance(model=model, confidence=value, genre=genre)


def _joined(values: list[str]) -> str | None:
    values = [v for v in values if v]
    return "; ".join(values) if values else None


def _id3_tags(tags: Any) -> FileTags:
    def text(key: str) -> list[str]:
        frame = tags.get(key) if tags is not None else None
        return [str(v) for v in frame.text] if frame is not None else []

    def first(key: str) -> str | None:
        values = text(key)
        return values[0] if values else None

    genre_frame = tags.get("TCON") if tags is not None else None
    genres = tuple(genre_frame.genres) if genre_frame is not None else ()
    return FileTags(
        genres=genres,
        artist=_joined(text("TPE1")),
        album_artist=_joined(text("TPE2")),
        provenance=_provenance(*(first(f"TXXX:{ID3_PREFIX}{f.upper()}") for f in PROVENANCE_FIELDS)),
        family="id3",
    )


def _vorbis_tags(tags: Any) -> FileTags:
    def values(key: str) -> list[str]:
        return list(tags.get(key, [])) if tags is not None else []

    def first(key: str) -> str | None:
        found = values(key)
        return found[0] if found else None

    return FileTags(
        genres=tuple(values("GENRE")),
        artist=_joined(values("ARTIST")),
        album_artist=_joined(values("ALBUMARTIST") or values("ALBUM ARTIST")),
        provenance=_provenance(*(first(f"{VORBIS_PREFIX}{f.upper()}") for f in PROVENANCE_FIELDS)),
        family="vorbis",
    )


def _mp4_text(value: Any) -> str:
    return bytes(value).decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _mp4_tags(tags: Any) -> FileTags:
    def values(key: str) -> list[str]:
        return [_mp4_text(v) for v in tags.get(key, [])] if tags is not None else []

    def first(key: str) -> str | None:
        found = values(key)
        return found[0] if found else None

    return FileTags(
        genres=tuple(values(MP4_GENRE)),
        artist=_joined(values("\xa9ART")),
        album_artist=_joined(values("aART")),
        provenance=_provenance(*(first(f"{MP4_PREFIX}{f}") for f in PROVENANCE_FIELDS)),
        family="mp4",
    )


_READERS: dict[str, Callable[[Any], FileTags]] = {"id3": _id3_tags, "vorbis": _vorbis_tags, "mp4": _mp4_tags}


def read_tags(path: str | os.PathLike[str]) -> FileTags:
    """The genre, artists and genrekit provenance stored in ``path``'s tags (empty fields where it has none).

    Raises :class:`~genrekit.errors.TagError` for a missing file, a format
    without tags genrekit knows, or tags mutagen cannot parse.
    """
    audio = _open(path)
    try:
        return _READERS[_family(audio)](audio.tags)
    except Exception as error:  # a frame of an unexpected shape in a hostile file
        raise TagError(path, f"cannot read its tags ({type(error).__name__}: {error})") from None


def write_genre(path: str | os.PathLike[str], genre: str, provenance: Provenance) -> None:
    """Set ``path``'s genre to the one value ``genre`` and record ``provenance`` beside it, in place.

    Only the genre and genrekit's own fields change; other tags are kept
    (ID3 tags are saved as v2.4, which is how mutagen stores every frame).
    Callers write on a copy and check it before it replaces the original.
    """
    audio = _open(path)
    family = _family(audio)
    fields = {"model": provenance.model, "confidence": f"{provenance.confidence:.4f}", "genre": provenance.genre}
    try:
        if audio.tags is None:
            audio.add_tags()
        tags = audio.tags
        if family == "id3":
            from mutagen.id3 import TCON, TXXX, Encoding

            tags.setall("TCON", [TCON(encoding=Encoding.UTF8, text=[genre])])
            for name, value in fields.items():
                desc = f"{ID3_PREFIX}{name.upper()}"
                tags.setall(f"TXXX:{desc}", [TXXX(encoding=Encoding.UTF8, desc=desc, text=[value])])
            audio.save(v2_version=4)
        elif family == "vorbis":
            tags["GENRE"] = [genre]
            for name, value in fields.items():
                tags[f"{VORBIS_PREFIX}{name.upper()}"] = [value]
            audio.save()
        else:
            from mutagen.mp4 import AtomDataType, MP4FreeForm

            tags[MP4_GENRE] = [genre]
            for name, value in fields.items():
                tags[f"{MP4_PREFIX}{name}"] = [MP4FreeForm(value.encode("utf-8"), dataformat=AtomDataType.UTF8)]
            audio.save()
    except Exception as error:
        raise TagError(path, f"cannot write its tags ({type(error).__name__}: {error})") from None


__all__ = ["FileTags", "Provenance", "read_tags", "write_genre"]
