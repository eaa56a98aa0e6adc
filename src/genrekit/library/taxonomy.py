"""A tagged music library as a labelled collection: your own genre tree, learned from your own tags.

:func:`library_taxonomy` reads every audio file's tags
(:func:`genrekit.library.tagfiles.read_tags`) and turns them into
:class:`~genrekit.datasets.Record` objects that any trainer takes:

- **labels** are the genres a person entered (:attr:`FileTags.human_genres`),
  never one genrekit wrote itself (recognised by its provenance), so a model
  never learns from its own guesses. Where a file holds several genres, the
  first is its label: most players show the first, and it is the one a
  person puts first. A single genre text that lists several
  (``"Rock; Pop"``, ``"Rock/Pop"``, ``"Rock, Pop"``, ``"Rock | Pop"``) counts
  as several.
- **spellings** of one genre become one label: case, punctuation and
  whitespace are ignored, ``&`` is ``and``, and ``'n'``/``n`` between words is
  ``and`` (``Hip-Hop``, ``hip hop``, ``HipHop`` -> one; ``Rock & Roll``,
  ``Rock 'n' Roll`` -> one, distinct from ``Rock``). Each label is written the
  way the library writes it most often; the mapping of every spelling met is
  returned, for the user to see.
- **groups** are the artist (album artist where a file names no artist;
  its folder where it names neither), compared without case or extra
  whitespace, and the **split** holds out about ``valid_fraction`` of each
  genre's artists (:func:`split_by_artist`), so validation is always on
  artists the model did not train on.
- genres with fewer than ``min_artists`` artists are **dropped** (a model
  cannot learn, nor be checked on, a genre of one artist: it would learn the
  artist), and reported with their artist and file counts;
- files without a genre a person entered are **untagged**: they are what
  ``genrekit tag --model`` is for; files whose tags cannot be read are
  **unreadable**, each with its error. Neither costs the other files.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from genrekit import training
from genrekit.audio import find_audio_files
from genrekit.datasets import Record
from genrekit.errors import ConfigError, DatasetError, GenrekitError, as_input_error
from genrekit.fileio import path_text
from genrekit.library.tagfiles import FileTags, read_tags
from genrekit.trainers import TrainResult

DEFAULT_MIN_ARTISTS = 3
"""Fewest artists a genre needs to be learned: one to validate on, and at least two to train on."""

DEFAULT_VALID_FRACTION = 0.2
"""Share of the artists held out to validate on."""

TAGS_FEATURE_SET = "musicnn"
"""What ``genrekit train --labels-from-tags`` learns from unless ``--set`` says otherwise: on GTZAN's
artist-disjoint valid split the best classic model on musicnn embeddings reaches 0.673 balanced accuracy,
the best on the ``default`` set 0.518 (docs/results.md), and a library's genres are learned from few artists."""

SOURCE_DESCRIPTION = "labels from the library's own genre tags (genres a person entered; genrekit's own left out)"
VALIDATION_NOTE = "validated on artists it did not train on (the library's artist tags group the split)"

_LIST_SEPARATORS = re.compile(r"\s*[;/,|\x00]\s*")
# "n" standing alone between words, bare or quoted: rock 'n' roll, rock n roll, drum'n'bass
_STANDALONE_N = re.compile(r"(?<![^\W_])['\u2018\u2019]?n['\u2018\u2019]?(?![^\W_])")


def genre_key(text: str) -> str:
    """What two spellings of one genre share: letters and digits only, case-folded, ``&``/``'n'`` as ``and``.

    ``"Hip-Hop"``, ``"hip hop"``, ``"HipHop"`` -> ``"hiphop"``; ``"Rock & Roll"``,
    ``"Rock 'n' Roll"``, ``"rock and roll"`` -> ``"rockandroll"``; ``"Rock"`` -> ``"rock"``.
    Empty for a text without letters or digits.
    """
    folded = unicodedata.normalize("NFKC", text).casefold().replace("&", " and ")
    folded = _STANDALONE_N.sub(" and ", folded)
    return "".join(ch for ch in folded if ch.isalnum())


def first_genre(genres: Sequence[str]) -> str | None:
    """The first genre of a file's genre values (each of which may list several); ``None`` if there is none."""
    for value in genres:
        for part in _LIST_SEPARATORS.split(value):
            part = " ".join(part.split())
            if genre_key(part):
                return part
    return None


def artist_group(tags: FileTags, path: str) -> str:
    """The file's group: its artist, else its album artist, else its folder (case and spacing ignored)."""
    for name in (tags.artist, tags.album_artist):
        if name and name.strip():
            return "artist:" + " ".join(unicodedata.normalize("NFKC", name).casefold().split())
    return "folder:" + path_text(Path(path).parent)


@dataclass(frozen=True)
class DroppedGenre:
    """A genre left out for having too few artists."""

    label: str
    artists: int
    files: int


@dataclass(frozen=True)
class LibraryTaxonomy:
    """A library's own genre taxonomy: the records to train on, and everything the user should be told.

    records : labelled, artist-grouped, split into ``train``/``valid`` by artist.
    spellings : every genre spelling met (among the kept genres) -> the label it became.
    dropped : the genres with fewer than ``min_artists`` artists, left out.
    untagged : files without a genre a person entered (a genre genrekit wrote does not count).
    unreadable : files whose tags could not be read, each as its error (a :class:`~genrekit.errors.TagError`).
    """

    records: tuple[Record, ...]
    spellings: dict[str, str]
    dropped: tuple[DroppedGenre, ...]
    untagged: tuple[str, ...]
    unreadable: tuple[GenrekitError, ...]
    min_artists: int
    artists_per_label: dict[str, int] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        """The labels kept, sorted."""
        return sorted({str(r.label) for r in self.records})

    def artists(self, split: str) -> set[str]:
        """The groups (artists) of one split."""
        return {r.group for r in self.records if r.split == split}

    def renamed(self) -> dict[str, str]:
        """The spellings that were changed into a different label (the mapping worth showing), by label."""
        changed = [(label, spelling) for spelling, label in self.spellings.items() if spelling != label]
        return {spelling: label for label, spelling in sorted(changed, key=lambda ls: (ls[0], ls[1].casefold()))}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: labels with their files and artists, the spellings, what was dropped and left out."""
        files = Counter(str(r.label) for r in self.records)
        return {
            "labels": {label: {"files": files[label], "artists": self.artists_per_label.get(label, 0)}
                       for label in self.labels},
            "spellings": dict(self.spellings),
            "dropped": [asdict(d) for d in self.dropped],
            "min_artists": self.min_artists,
            "untagged": list(self.untagged),
            "unreadable": [{"path": getattr(e, "path", ""), "error": str(e)} for e in self.unreadable],
            "splits": {split: {"files": sum(r.split == split for r in self.records),
                               "artists": len(self.artists(split))} for split in ("train", "valid")},
        }


def library_taxonomy(
    library: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    min_artists: int = DEFAULT_MIN_ARTISTS,
    valid_fraction: float = DEFAULT_VALID_FRACTION,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> LibraryTaxonomy:
    """Read a library's tags (a folder, searched recursively, or files and folders) into a :class:`LibraryTaxonomy`.

    ``progress(done, total)`` is called after each file's tags are read.
    Raises :class:`~genrekit.errors.DatasetError` when no audio file is found,
    :class:`~genrekit.errors.ConfigError` for a bad ``min_artists`` or ``valid_fraction``.
    """
    if isinstance(min_artists, bool) or not isinstance(min_artists, int) or min_artists < 1:
        raise ConfigError(f"min_artists must be a whole number >= 1, got {min_artists!r}")
    if not 0.0 < valid_fraction < 1.0:
        raise ConfigError(f"valid_fraction must be between 0 and 1, got {valid_fraction!r}")
    sources = [Path(s).expanduser() for s in ([library] if isinstance(library, (str, os.PathLike)) else library)]
    missing = [s for s in sources if not s.exists()]
    if missing:
        raise DatasetError(f"{path_text(missing[0])}: no such file or folder")
    files = find_audio_files(sources)
    if not files:
        raise DatasetError(f"{', '.join(path_text(s) for s in sources)}: no audio files found")

    tagged: list[tuple[str, str, str]] = []  # (path, spelling, group)
    untagged: list[str] = []
    unreadable: list[GenrekitError] = []
    for done, file in enumerate(files, start=1):
        path = os.path.normpath(file.absolute())
        try:
            tags = read_tags(path)
        except Exception as error:  # the file boundary: one file's hostile tags never cost the others
            unreadable.append(as_input_error(path, error))
        else:
            genre = first_genre(tags.human_genres)
            if genre is None:
                untagged.append(path)
            else:
                tagged.append((path, genre, artist_group(tags, path)))
        if progress is not None:
            progress(done, len(files))

    spellings = _labels_by_key(spelling for _, spelling, _ in tagged)
    artists: dict[str, set[str]] = defaultdict(set)
    counts: Counter[str] = Counter()
    for _, spelling, group in tagged:
        label = spellings[spelling]
        artists[label].add(group)
        counts[label] += 1
    kept = {label for label, groups in artists.items() if len(groups) >= min_artists}
    dropped = tuple(DroppedGenre(label, len(artists[label]), counts[label])
                    for label in sorted(set(artists) - kept, key=lambda lb: (-counts[lb], lb)))
    records = [Record(path=path, label=spellings[spelling], group=group)
               for path, spelling, group in tagged if spellings[spelling] in kept]
    return LibraryTaxonomy(
        records=tuple(split_by_artist(records, valid_fraction, seed)),
        spellings={s: label for s, label in sorted(spellings.items()) if label in kept},
        dropped=dropped,
        untagged=tuple(untagged),
        unreadable=tuple(unreadable),
        min_artists=min_artists,
        artists_per_label={label: len(artists[label]) for label in sorted(kept)},
    )


def card_entry(taxonomy: LibraryTaxonomy, library: Any, *, use_all: bool = False) -> dict[str, Any]:
    """What a model's card says about labels learned from a library's tags (the card's ``taxonomy`` entry).

    ``use_all``: the model trains on every file (``genrekit train --all``), so nothing is validated.
    """
    held_out = bool(taxonomy.artists("valid")) and not use_all
    return {
        "labels_from": "tags",
        "description": SOURCE_DESCRIPTION,
        "library": library if isinstance(library, str) else path_text(library),
        "grouped_by": "artist",
        "validation": VALIDATION_NOTE if held_out else ("nothing held out: trained on every file" if use_all
                                                         else "nothing held out: too few artists to validate on"),
        "min_artists": taxonomy.min_artists,
        "artists": {split: len(taxonomy.artists(split)) for split in ("train", "valid")},
        "spellings": taxonomy.renamed(),
        "dropped": [asdict(d) for d in taxonomy.dropped],
        "untagged_files": len(taxonomy.untagged),
        "unreadable_files": len(taxonomy.unreadable),
    }


def train_from_tags(
    taxonomy: LibraryTaxonomy,
    out: str | os.PathLike[str],
    kind: str = "svm",
    config: Any = None,
    *,
    library: str | os.PathLike[str] = "",
    cache_dir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    progress: Callable[[Any], None] | None = None,
) -> TrainResult:
    """Train a ``kind`` model on a library's taxonomy (:func:`genrekit.training.train` with its records).

    The card's ``taxonomy`` entry says the labels came from the library's
    tags, how spellings were merged, what was dropped, and that validation
    was on artists the model did not train on. ``library`` names the library
    on the card. Raises :class:`~genrekit.errors.DatasetError` when no genre
    has ``min_artists`` artists.
    """
    if not taxonomy.records:
        raise DatasetError(f"{path_text(library) if library else 'the library'}: no genre tag is shared by at "
                           f"least {taxonomy.min_artists} artists, so there is nothing to learn "
                           f"({len(taxonomy.dropped)} genre(s) dropped, {len(taxonomy.untagged)} file(s) untagged)")
    use_all = bool(config.get("use_all") if isinstance(config, Mapping) else getattr(config, "use_all", False))
    return training.train(list(taxonomy.records), out, kind, config, cache_dir=cache_dir, jobs=jobs,
                          progress=progress, card_extra={"taxonomy": card_entry(taxonomy, library, use_all=use_all)})


def _labels_by_key(spellings: Iterable[str]) -> dict[str, str]:
    """Each spelling -> its genre's label: the spelling the library uses most for that genre (ties: sorted first)."""
    seen = Counter(spellings)
    by_key: dict[str, list[str]] = defaultdict(list)
    for spelling in seen:
        by_key[genre_key(spelling)].append(spelling)
    mapping: dict[str, str] = {}
    for variants in by_key.values():
        label = min(variants, key=lambda s: (-seen[s], s))
        mapping.update({s: label for s in variants})
    return mapping


def split_by_artist(records: Sequence[Record], valid_fraction: float, seed: int) -> list[Record]:
    """``records`` with a ``train``/``valid`` split that never puts one group (artist) on both sides.

    Stratified by artists rather than files: of each genre's ``n`` artists
    (an artist counted under the genre most of their files carry), about
    ``valid_fraction * n`` are held out, at least one where ``n >= 2`` and
    never all, so every genre is learned and, where it can be, checked. A
    genre whose every artist still ends up in ``valid`` (its artists' other
    genres sent them there) gets them back. With fewer than two groups in
    all, nothing can be held out: the records keep no split, and the
    trainer's card says nothing was validated. ``seed`` picks the artists.
    """
    if len({r.group for r in records}) < 2:
        return list(records)
    labels_of: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        labels_of[r.group][str(r.label)] += 1
    by_label: dict[str, list[str]] = defaultdict(list)
    for group in sorted(labels_of):
        main = min(labels_of[group], key=lambda label: (-labels_of[group][label], label))
        by_label[main].append(group)
    rng = np.random.default_rng(seed)
    valid_groups: set[str] = set()
    for label in sorted(by_label):
        groups = by_label[label]
        n_valid = min(len(groups) - 1, max(1, round(len(groups) * valid_fraction)))
        valid_groups.update(groups[i] for i in rng.permutation(len(groups))[:n_valid])
    trained = {str(r.label) for r in records if r.group not in valid_groups}
    valid_groups -= {r.group for r in records if str(r.label) not in trained}
    return [replace(r, split="valid" if r.group in valid_groups else "train") for r in records]


__all__ = [
    "DEFAULT_MIN_ARTISTS",
    "DEFAULT_VALID_FRACTION",
    "DroppedGenre",
    "LibraryTaxonomy",
    "SOURCE_DESCRIPTION",
    "VALIDATION_NOTE",
    "TAGS_FEATURE_SET",
    "artist_group",
    "card_entry",
    "first_genre",
    "genre_key",
    "library_taxonomy",
    "split_by_artist",
    "train_from_tags",
]
