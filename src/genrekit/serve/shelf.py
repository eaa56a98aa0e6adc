"""The models a server offers: loaded once, each under a stable id, described by what its card claims.

Every model, whether named on the command line, found in ``--models-dir`` or
uploaded, is loaded by :func:`genrekit.predict.load_model`, the loader
``genrekit predict --model`` uses, so a hostile file is refused by the same
checks (``models/bundle.py``, ``ModelCard.from_json``) before anything runs.
Ids are the first 12 hex digits of the file's SHA-256 (``"default"`` for the
bundled model), so an upload of a file already on the shelf gets its id back.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal

from genrekit.errors import ConfigError, GenrekitError, ModelFileError
from genrekit.fileio import atomic_write, sha256_file
from genrekit.models.bundle import SUFFIX
from genrekit.predict import BUNDLED_MODEL, GenreClassifier, load_model, resolve_model
from genrekit.serve.errors import ApiError
from genrekit.serve.uploads import SpooledUpload

DEFAULT_ID = "default"
ID_DIGITS = 12
Source = Literal["bundled", "file", "upload"]


@dataclass(frozen=True)
class ShelfEntry:
    """One loaded model and where it came from."""

    id: str
    name: str
    classifier: GenreClassifier
    source: Source
    path: Path
    size_bytes: int
    default: bool = False

    def claimed(self) -> dict[str, Any] | None:
        """The card's validation figures with their split; ``None`` where nothing was held out."""
        validation = self.classifier.card.validation
        if not validation.measured:
            return None
        return {"accuracy": validation.metrics.get("accuracy"),
                "balanced_accuracy": validation.metrics.get("balanced_accuracy"), "split": validation.split}

    def confusion(self) -> dict[str, Any] | None:
        """The card's confusion counts (rows: truth) with their split; ``None`` when the card has none."""
        validation = self.classifier.card.validation
        counts = (validation.confusion or {}).get("counts")
        if not validation.measured or not isinstance(counts, list):
            return None
        return {"labels": list(self.classifier.labels), "matrix": counts, "split": validation.split}

    def summary(self, benchmark: dict[str, Any] | None) -> dict[str, Any]:
        card = self.classifier.card
        return {"id": self.id, "name": self.name, "labels": list(card.labels), "feature_set": card.feature_set.name,
                "kind": card.model.kind, "source": self.source, "size_bytes": self.size_bytes,
                "default": self.default, "claimed": self.claimed(), "benchmark": benchmark}

    def detail(self, benchmark: dict[str, Any] | None) -> dict[str, Any]:
        return self.summary(benchmark) | {"card": self.classifier.card.to_json(), "confusion": self.confusion()}


class Shelf:
    """The loaded models by id, in the order they were added; safe to read while uploads add to it."""

    def __init__(self, uploads_dir: Path) -> None:
        self.uploads_dir = uploads_dir
        self._entries: dict[str, ShelfEntry] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[ShelfEntry]:
        with self._lock:
            return list(self._entries.values())

    @property
    def default(self) -> ShelfEntry:
        return next(e for e in self.entries() if e.default)

    def get(self, model_id: str | None) -> ShelfEntry:
        """The model ``model_id`` names (the default for ``None`` or ``""``); 404 ``not_found`` otherwise."""
        if not model_id:
            return self.default
        with self._lock:
            entry = self._entries.get(model_id)
        if entry is None:
            raise ApiError(404, "not_found", f"no model with id {model_id!r} on this server (see /v1/models)")
        return entry

    def add_file(self, path: Path, source: Source, *, default: bool = False, name: str | None = None) -> ShelfEntry:
        """Load ``path`` and put it on the shelf (a file already there by content is returned as it is).

        Raises :class:`~genrekit.errors.ModelFileError` for a bad model file.
        """
        path = resolve_model(path)  # a bundled model's name (--model accurate) or a path
        model_id = DEFAULT_ID if source == "bundled" else sha256_file(path)[:ID_DIGITS]
        with self._lock:
            if model_id in self._entries:
                return self._entries[model_id]
        classifier = load_model(path)
        entry = ShelfEntry(model_id, name or path.name, classifier, source, path, path.stat().st_size, default)
        with self._lock:
            return self._entries.setdefault(model_id, entry)

    def add_upload(self, upload: SpooledUpload) -> tuple[ShelfEntry, bool]:
        """Check an uploaded model, store it as ``<id>.genre`` and shelve it; ``(entry, whether it is new)``.

        The spooled copy is loaded first, so a refused file never reaches the
        models folder. Raises :class:`~genrekit.errors.ModelFileError`.
        """
        model_id = sha256_file(upload.path)[:ID_DIGITS]
        with self._lock:
            if model_id in self._entries:
                return self._entries[model_id], False
        try:
            classifier = load_model(upload.path)
        except GenrekitError:
            raise
        except Exception as error:  # the file boundary: a loader's stray exception still refuses only this file
            raise ModelFileError(f"{upload.path}: not a usable genrekit model file ({type(error).__name__}: {error})") from None
        stored = self.uploads_dir / f"{model_id}{SUFFIX}"
        with open(upload.path, "rb") as source:
            atomic_write(stored, lambda out: _copy(source, out))
        entry = ShelfEntry(model_id, upload.name, classifier, "upload", stored, upload.size)
        with self._lock:
            existing = self._entries.setdefault(model_id, entry)
        return existing, existing is entry


def _copy(source: Any, out: Any) -> None:
    while chunk := source.read(1024 * 1024):
        out.write(chunk)


def build_shelf(models: Iterable[str | Path] | None, models_dir: str | Path | None, uploads_dir: Path) -> Shelf:
    """The start-up shelf: ``models`` (the first is the default) or the bundled model, then ``models_dir``'s files.

    Raises :class:`~genrekit.errors.ModelFileError` naming the first file that
    does not load, and :class:`ConfigError` for a ``models_dir`` that is not a folder (a missing one is made).
    """
    shelf = Shelf(uploads_dir)
    given = [Path(m) for m in models or []]
    if given:
        for i, path in enumerate(given):
            shelf.add_file(path, "file", default=i == 0)
    else:
        shelf.add_file(BUNDLED_MODEL, "bundled", default=True, name="bundled")
    if models_dir is not None:
        folder = Path(models_dir)
        if not folder.exists():
            folder.mkdir(parents=True)  # where uploads will be stored
        if not folder.is_dir():
            raise ConfigError(f"--models-dir {folder} is not a folder")
        for path in sorted(folder.glob(f"*{SUFFIX}")):
            stored_upload = path.stem == sha256_file(path)[:ID_DIGITS]
            shelf.add_file(path, "upload" if stored_upload else "file")
    return shelf


def token_matches(header: str | None, token: str) -> bool:
    """Whether an ``Authorization: Bearer <token>`` header carries ``token`` (compared in constant time)."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
