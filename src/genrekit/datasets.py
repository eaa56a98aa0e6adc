"""Labelled collections of audio files as plain lists of :class:`Record`.

Four layouts are read: a folder per genre (``root/<genre>/**``), a CSV
manifest, GTZAN (recognised by its ``<genre>.NNNNN.<ext>`` file names, which
brings the fault-filtered artist-disjoint train/valid/test split of Kereliuk,
Sturm & Larsen 2015, shipped as package data), and loose audio files without
labels. :func:`load_dataset` picks the layout by itself.

Every record carries a ``group`` (the track, or the artist where known) so
that splits built later never put pieces of one track on both sides.
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Literal, Sequence

from genrekit.audio import find_audio_files
from genrekit.errors import ConfigError, DatasetError

SPLITS = ("train", "valid", "test")
"""The split names every loader returns (``None`` where a file belongs to none)."""

_SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "valid": "valid",
    "val": "valid",
    "validation": "valid",
    "dev": "valid",
    "test": "test",
    "testing": "test",
    "eval": "test",
}

GTZAN_GENRES = frozenset(
    {"blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"}
)
_GTZAN_NAME = re.compile(r"^(?P<genre>[a-z]+)\.(?P<number>\d{5})$")

MANIFEST_NAME = "manifest.csv"
"""A folder holding a file of this name is read as a manifest."""

Layout = Literal["auto", "manifest", "folders", "gtzan", "files"]


@dataclass(frozen=True)
class Record:
    """One audio file of a collection.

    path : absolute path of the file.
    label : its genre, ``None`` when unknown (unlabelled files).
    group : what must stay on one side of any split: the track, or its artist
        where the collection says so.
    split : ``"train"``, ``"valid"``, ``"test"`` or ``None`` (no predefined split).
    """

    path: str
    label: str | None
    group: str
    split: str | None = None


def _abspath(path: str | os.PathLike[str], base: Path | None = None) -> str:
    p = Path(path).expanduser()
    if not p.is_absolute() and base is not None:
        p = base / p
    return os.path.normpath(p.absolute())


def normalise_split(value: str | None, where: str = "") -> str | None:
    """Map ``train``/``val``/``validation``/``test``/... (any case) to ``train|valid|test``; empty -> ``None``."""
    if value is None or not value.strip():
        return None
    try:
        return _SPLIT_ALIASES[value.strip().lower()]
    except KeyError:
        raise DatasetError(
            f"{where}unknown split {value!r}; use one of {', '.join(SPLITS)} (or leave it empty)"
        ) from None


# --------------------------------------------------------------------------- GTZAN


def gtzan_clip_id(path: str | os.PathLike[str]) -> str | None:
    """``"blues.00029"`` for ``.../blues.00029.wav`` (any extension), ``None`` if not a GTZAN name."""
    name = Path(path).name
    for candidate in (name.rsplit(".", 1)[0], name):
        m = _GTZAN_NAME.match(candidate)
        if m is not None and m.group("genre") in GTZAN_GENRES:
            return candidate
    return None


@lru_cache(maxsize=1)
def gtzan_split_map() -> dict[str, str]:
    """Clip id -> ``train|valid|test`` of the fault-filtered GTZAN split (930 of the 1000 clips)."""
    from importlib.resources import files

    folder = files("genrekit") / "data" / "gtzan_splits"
    mapping: dict[str, str] = {}
    for split in SPLITS:
        text = (folder / f"{split}_filtered.txt").read_text(encoding="utf-8")
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            clip = gtzan_clip_id(line)
            if clip is None:  # pragma: no cover - the shipped lists are well-formed
                raise DatasetError(f"malformed entry {line!r} in the built-in GTZAN split {split}")
            mapping[clip] = split
    return mapping


def is_gtzan(records: Sequence[Record]) -> bool:
    """Whether every record is named like a GTZAN clip of the genre it is labelled with.

    Unlabelled records count as matching (their label comes from the name).
    """
    if not records:
        return False
    for r in records:
        clip = gtzan_clip_id(r.path)
        if clip is None or (r.label is not None and r.label != clip.split(".")[0]):
            return False
    return True


def apply_gtzan_split(records: Sequence[Record], *, keep_groups: bool = False) -> list[Record]:
    """Give GTZAN-named records their label, group and fault-filtered split.

    The label comes from the file name, the split from the built-in lists
    (clips in none keep the split they came with, usually ``None``), and the
    group is the clip id: the split is artist-disjoint, but the artist of each
    clip is not in the lists, so no finer grouping is claimed. A split given by
    the caller that disagrees with the built-in one is overridden with a warning.
    ``keep_groups`` keeps groups the caller supplied (e.g. a manifest's artists).
    """
    if not is_gtzan(records):
        raise DatasetError("these files are not named like GTZAN clips (<genre>/<genre>.NNNNN.<ext>)")
    known = gtzan_split_map()
    out: list[Record] = []
    disagree: list[str] = []
    for r in records:
        clip = gtzan_clip_id(r.path)
        assert clip is not None
        builtin = known.get(clip)
        if builtin is not None and r.split is not None and r.split != builtin:
            disagree.append(f"{clip} ({r.split} -> {builtin})")
        out.append(
            Record(
                path=r.path,
                label=clip.split(".")[0],
                group=r.group if keep_groups else clip,
                split=builtin if builtin is not None else r.split,
            )
        )
    if disagree:
        shown = ", ".join(disagree[:5]) + (" ..." if len(disagree) > 5 else "")
        warnings.warn(
            f"{len(disagree)} GTZAN clip(s) had a split that disagrees with the fault-filtered split; "
            f"using the built-in one: {shown}",
            stacklevel=2,
        )
    return out


def load_gtzan(root: str | os.PathLike[str]) -> list[Record]:
    """GTZAN in its usual layout (``root/<genre>/<genre>.NNNNN.<ext>``) or with a manifest.

    Raises :class:`DatasetError` when the files are not named like GTZAN clips.
    """
    root_path = Path(root)
    if (root_path / MANIFEST_NAME).is_file():
        records = load_manifest(root_path / MANIFEST_NAME, gtzan=False)
        return apply_gtzan_split(records, keep_groups=_manifest_has_group(root_path / MANIFEST_NAME))
    if not root_path.is_dir():
        raise DatasetError(f"{root_path}: not a folder")
    records = _gtzan_records(find_audio_files([root_path]))
    if records is None:
        raise DatasetError(
            f"{root_path}: these files are not named like GTZAN clips (<genre>/<genre>.NNNNN.<ext>)"
        )
    return records


def _gtzan_records(files: Sequence[Path]) -> list[Record] | None:
    """GTZAN records when every file is ``<genre>/<genre>.NNNNN.<ext>`` (at any depth), else ``None``.

    Depth does not matter, so the Kaggle layout (``Data/genres_original/<genre>/...``) is recognised too.
    """
    if not files:
        return None
    records = []
    for f in files:
        clip = gtzan_clip_id(f)
        if clip is None or f.parent.name != clip.split(".")[0]:
            return None
        records.append(Record(path=_abspath(f), label=None, group=clip, split=None))
    return apply_gtzan_split(records)


# --------------------------------------------------------------------------- layouts


def load_genre_folders(root: str | os.PathLike[str], *, gtzan: bool = True) -> list[Record]:
    """``root/<genre>/**`` -> one record per audio file, labelled with its top folder's name.

    Files are found recursively inside each genre folder; the group is the file
    stem (so copies of one track in two folders share a group). When every file
    is named like a GTZAN clip and ``gtzan`` is true, the GTZAN split is applied.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        raise DatasetError(f"{root_path}: not a folder")
    return _genre_folder_records(root_path, find_audio_files([root_path]), gtzan=gtzan)


def _genre_folder_records(root: Path, files: Sequence[Path], *, gtzan: bool) -> list[Record]:
    records: list[Record] = []
    for f in files:
        parts = f.relative_to(root).parts
        if len(parts) < 2 or parts[0].startswith("."):
            continue  # loose at the top, or inside a hidden folder
        records.append(Record(path=_abspath(f), label=parts[0], group=f.stem, split=None))
    if not records:
        raise DatasetError(f"{root}: no audio files in genre folders (expected {root}/<genre>/<files>)")
    if gtzan and is_gtzan(records):
        return apply_gtzan_split(records)
    return records


def _read_manifest_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            fields = [name.strip().lower() for name in (reader.fieldnames or [])]
            rows = [{k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    except FileNotFoundError:
        raise DatasetError(f"{path}: manifest not found") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"{path}: not a readable CSV file ({error})") from None
    return fields, rows


def _manifest_has_group(path: Path) -> bool:
    fields, _ = _read_manifest_rows(path)
    return "group" in fields


def load_manifest(path: str | os.PathLike[str], *, gtzan: bool = True) -> list[Record]:
    """A CSV manifest -> records.

    Columns (header names, any case): ``path`` (relative to the CSV's folder,
    or absolute), ``label`` (or ``genre``; empty cells mean unlabelled),
    optional ``group`` (e.g. the artist; defaults to the file stem) and optional
    ``split`` (``train``/``valid``/``test``, aliases such as ``val`` accepted;
    empty means none). Other columns are ignored. When every file is named like
    a GTZAN clip and ``gtzan`` is true, the built-in GTZAN split is applied (a
    manifest split that disagrees with it is overridden, with a warning).
    """
    csv_path = Path(path)
    fields, rows = _read_manifest_rows(csv_path)
    if "path" not in fields:
        raise DatasetError(f"{csv_path}: the manifest has no 'path' column (columns: {', '.join(fields) or 'none'})")
    label_key = "label" if "label" in fields else "genre" if "genre" in fields else None
    if label_key is None:
        raise DatasetError(
            f"{csv_path}: the manifest has no 'label' (or 'genre') column (columns: {', '.join(fields)})"
        )
    base = csv_path.parent
    records: list[Record] = []
    for line, row in enumerate(rows, start=2):
        where = f"{csv_path}, line {line}: "
        if not row.get("path"):
            raise DatasetError(f"{where}empty path")
        abs_path = _abspath(row["path"], base.absolute())
        records.append(
            Record(
                path=abs_path,
                label=row.get(label_key) or None,
                group=row.get("group") or Path(abs_path).stem,
                split=normalise_split(row.get("split"), where),
            )
        )
    if not records:
        raise DatasetError(f"{csv_path}: the manifest lists no files")
    if gtzan and is_gtzan(records):
        return apply_gtzan_split(records, keep_groups="group" in fields)
    return records


def load_files(paths: Iterable[str | os.PathLike[str]]) -> list[Record]:
    """Unlabelled records for audio files and folders (searched recursively)."""
    records = []
    for f in find_audio_files(paths):
        records.append(Record(path=_abspath(f), label=None, group=f.stem, split=None))
    return records


def load_dataset(source: str | os.PathLike[str], *, layout: Layout = "auto") -> list[Record]:
    """Read a collection, guessing its layout unless ``layout`` names one.

    ``auto`` picks, in order: a ``.csv`` file -> manifest; a folder holding
    ``manifest.csv`` -> manifest; a folder whose audio files are all named
    ``<genre>/<genre>.NNNNN.<ext>`` (at any depth) -> GTZAN; a folder whose
    audio sits only in sub-folders -> one folder per genre; any other folder
    or a single file -> unlabelled records. Manifests and genre folders of
    GTZAN-named files also get GTZAN's labels and fault-filtered split.
    """
    src = Path(source).expanduser()
    if not src.exists():
        raise DatasetError(f"{src}: no such file or folder")
    if layout == "gtzan":
        if src.is_file():
            return apply_gtzan_split(load_manifest(src, gtzan=False), keep_groups=_manifest_has_group(src))
        return load_gtzan(src)
    if layout == "manifest" or (layout == "auto" and src.is_file() and src.suffix.lower() == ".csv"):
        return load_manifest(src / MANIFEST_NAME if src.is_dir() else src)
    if layout == "files" or (layout == "auto" and not src.is_dir()):  # a FIFO or device too: it fails per file
        records = load_files([src])
        if not records:
            raise DatasetError(f"{src}: no audio files found")
        return records
    if layout == "folders":
        return load_genre_folders(src)
    if layout != "auto":
        raise ConfigError(f"unknown layout {layout!r}; use auto, manifest, folders, gtzan or files")
    if (src / MANIFEST_NAME).is_file():
        return load_manifest(src / MANIFEST_NAME)
    files = find_audio_files([src])  # one walk of the tree decides the layout
    if not files:
        raise DatasetError(f"{src}: no audio files found")
    gtzan = _gtzan_records(files)
    if gtzan is not None:
        return gtzan
    if any(f.parent == src for f in files):  # loose audio at the top: not a folder per genre
        return [Record(path=_abspath(f), label=None, group=f.stem, split=None) for f in files]
    return _genre_folder_records(src, files, gtzan=True)


def load_sources(sources: Iterable[str | os.PathLike[str]], *, layout: Layout = "auto") -> list[Record]:
    """:func:`load_dataset` over several sources, concatenated; a file met twice is kept once (first wins)."""
    seen: set[str] = set()
    out: list[Record] = []
    for source in sources:
        for r in load_dataset(source, layout=layout):
            if r.path not in seen:
                seen.add(r.path)
                out.append(r)
    return out


# --------------------------------------------------------------------------- helpers


def filter_split(records: Iterable[Record], split: str | None) -> list[Record]:
    """The records of one split (``None`` selects those without a split)."""
    wanted = normalise_split(split) if split is not None else None
    return [r for r in records if r.split == wanted]


def with_split(records: Iterable[Record], split: str | None) -> list[Record]:
    """Copies of ``records`` assigned to ``split``."""
    wanted = normalise_split(split)
    return [replace(r, split=wanted) for r in records]


def label_counts(records: Iterable[Record]) -> dict[str | None, int]:
    """Files per label, labels in sorted order (``None``, the unlabelled, last)."""
    counts = Counter(r.label for r in records)
    return dict(sorted(counts.items(), key=lambda kv: (kv[0] is None, kv[0] or "")))


def summarize(records: Sequence[Record]) -> dict[str, object]:
    """Files, labels and per-split label counts, JSON-ready (unlabelled/no split shown as ``null``)."""
    by_split: dict[str | None, list[Record]] = {}
    for r in records:
        by_split.setdefault(r.split, []).append(r)
    order = {s: i for i, s in enumerate(SPLITS)}
    return {
        "files": len(records),
        "groups": len({r.group for r in records}),
        "labels": label_counts(records),
        "splits": {
            s: label_counts(rs) for s, rs in sorted(by_split.items(), key=lambda kv: order.get(kv[0], len(order)))
        },
    }


__all__ = [
    "GTZAN_GENRES",
    "MANIFEST_NAME",
    "SPLITS",
    "Record",
    "apply_gtzan_split",
    "filter_split",
    "gtzan_clip_id",
    "gtzan_split_map",
    "is_gtzan",
    "label_counts",
    "load_dataset",
    "load_files",
    "load_genre_folders",
    "load_gtzan",
    "load_manifest",
    "load_sources",
    "normalise_split",
    "summarize",
    "with_split",
]
