"""beets plugin: name the genre of library items by listening to them, with genrekit.

``beet genrekit [QUERY]`` classifies the matching items and stores the genre
in the library, with genrekit's mark beside it as flexible attributes:
``genrekit_genre`` (what it wrote), ``genrekit_confidence``,
``genrekit_model`` (the model file's sha256, as genrekit's own database and
tags name it) and ``genrekit_probabilities`` (JSON). The library is the
truth: file tags are written only as beets' own ``import.write`` (or
``-w``/``-W``, or this plugin's ``write``) says, and only through beets
(``item.try_sync``, which calls ``item.try_write()``).

A genre a person set is kept unless ``--overwrite`` (or ``overwrite: yes``);
a genre genrekit set before (its ``genrekit_model`` is present and the genre
is still the ``genrekit_genre`` it wrote) may be replaced. With ``auto: yes``
imported items are classified in an import stage, as lastgenre does: the
stage runs before beets stores and writes the imported items, so the genre
reaches the file tags exactly when beets' ``import.write`` says.

Configuration (``genrekit:`` in beets' config.yaml)::

    model: ''             # a .genre file; empty: the model bundled with genrekit
    auto: no              # classify on import
    min_confidence: 0.0   # below this, no genre is set
    top: 1                # how many genres to store (each at least min_confidence)
    separator: ', '       # joins them where beets has a single-text genre field
    overwrite: no         # replace genres a person set
    write: null           # null: as beets' import.write; yes/no to override
    jobs: 1               # worker processes, each loading the model once

genrekit itself is imported only when something is classified, so loading
the plugin keeps ``beet`` start-up fast.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Sequence

from beets import ui
from beets.dbcore import types
from beets.library import Item
from beets.plugins import BeetsPlugin
from beets.util import syspath

if TYPE_CHECKING:
    from beets.importer import ImportSession, ImportTask
    from beets.library import Library

    from genrekit.predict import GenreClassifier, Prediction

MARK_FIELDS = ("genrekit_genre", "genrekit_confidence", "genrekit_model", "genrekit_probabilities")
"""The flexible attributes genrekit stores beside the genre: what it wrote, how sure, with which model."""


def genre_text(item: Item, separator: str) -> str:
    """The item's genre as one text, whichever genre field this beets has (``genres`` list or ``genre``)."""
    if "genres" in item._fields:
        return separator.join(str(g) for g in (item.get("genres") or []))
    return str(item.get("genre") or "")


def set_genres(item: Item, genres: Sequence[str], separator: str) -> None:
    """Set the item's genre field: a list on beets with ``genres``, the joined text on older beets."""
    if "genres" in item._fields:
        item.genres = list(genres)
    else:
        item.genre = separator.join(genres)


def set_by_genrekit(item: Item, separator: str) -> bool:
    """Whether the item's genre is the one genrekit set: by this plugin (its mark is there and the genre is
    unchanged), or by ``genrekit tag`` (the file's own genrekit provenance still matches its genre)."""
    if "genrekit_model" in item:
        return genre_text(item, separator) == str(item.get("genrekit_genre", ""))
    from genrekit.errors import TagError  # deferred: see GenrekitPlugin.classifier
    from genrekit.library.tagfiles import read_tags

    try:
        tags = read_tags(syspath(item.path))
    except TagError:
        return False  # tags we cannot read: the genre beets holds counts as a person's
    return tags.by_genrekit and tags.provenance is not None and genre_text(item, separator) == tags.provenance.genre


def chosen_genres(prediction: Prediction, top: int, min_confidence: float) -> list[str]:
    """The ``top`` most probable genres whose probability reaches ``min_confidence`` (empty: not sure enough)."""
    return [genre for genre, p in prediction.top(top) if p >= min_confidence]


class GenrekitPlugin(BeetsPlugin):
    """``beet genrekit``: classify items with a genrekit model and store genre + provenance."""

    item_types: ClassVar[dict[str, types.Type]] = {
        "genrekit_confidence": types.FLOAT,
        "genrekit_genre": types.STRING,
        "genrekit_model": types.STRING,
        "genrekit_probabilities": types.STRING,
    }

    def __init__(self) -> None:
        super().__init__()
        self.config.add({
            "model": "",
            "auto": False,
            "min_confidence": 0.0,
            "top": 1,
            "separator": ", ",
            "overwrite": False,
            "write": None,
            "jobs": 1,
        })
        self._classifier: GenreClassifier | None = None
        self._model_hash = ""
        if self.config["auto"].get(bool):
            self.import_stages = [self.imported]

    # ------------------------------------------------------------------ the command

    def commands(self) -> list[ui.Subcommand]:
        command = ui.Subcommand("genrekit", help="name the genre of items by listening to them")
        parser = command.parser
        parser.add_option("-p", "--pretend", action="store_true", default=False,
                          help="show the genres found but change nothing")
        parser.add_option("-f", "--overwrite", action="store_true", default=None,
                          help="replace genres a person set too")
        parser.add_option("-m", "--model", default=None, help="a .genre model file (default: the configured one)")
        parser.add_option("-w", "--write", action="store_true", default=None,
                          help="write the genre to the files' tags too")
        parser.add_option("-W", "--nowrite", action="store_false", dest="write",
                          help="store in the library only, do not write tags")
        parser.add_option("-j", "--jobs", type="int", default=None, help="worker processes (default: 1)")
        command.func = self._run_command
        return [command]

    def _run_command(self, lib: Library, opts: Any, args: list[str]) -> None:
        if opts.model:
            self.config["model"].set(opts.model)
            self._classifier = None
        if opts.jobs is not None:
            self.config["jobs"].set(opts.jobs)
        overwrite = self.config["overwrite"].get(bool) if opts.overwrite is None else True
        write_opt = opts.write if opts.write is not None else self.config["write"].get()
        self.classify_items(lib.items(args), overwrite=overwrite, pretend=opts.pretend,
                            write=ui.should_write(write_opt))

    # ------------------------------------------------------------------ on import

    def imported(self, session: ImportSession, task: ImportTask) -> None:
        """Import stage (``auto: yes``): classify the task's items; beets stores and writes them next."""
        self.classify_items(task.imported_items(), overwrite=self.config["overwrite"].get(bool),
                            pretend=False, write=False)

    # ------------------------------------------------------------------ the work

    def classifier(self) -> GenreClassifier:
        """The configured model, loaded once (a bad model file raises beets' UserError)."""
        if self._classifier is None:
            # deferred: onnxruntime and the feature code load only when something is classified
            from genrekit.errors import GenrekitError
            from genrekit.library.scan import model_sha256
            from genrekit.predict import load_model

            configured = self.config["model"].get()
            path = self.config["model"].as_filename() if configured else None
            try:
                classifier = load_model(path)
                self._model_hash = model_sha256(classifier)
            except (GenrekitError, OSError) as error:
                raise ui.UserError(f"genrekit: cannot load the model: {_shown(error)}") from None
            self._classifier = classifier
        return self._classifier

    def classify_items(self, items: Iterable[Item], *, overwrite: bool, pretend: bool, write: bool) -> dict[str, int]:
        """Classify ``items`` and store their genres; returns counts of ``set``, ``kept``, ``unsure``, ``failed``.

        Items whose genre a person set are kept (not even classified) unless
        ``overwrite``. A file that cannot be classified is logged and skipped.
        """
        # deferred: see classifier()
        from genrekit.batch import classify_files
        from genrekit.errors import GenrekitError

        separator = self.config["separator"].as_str()
        counts = {"set": 0, "kept": 0, "unsure": 0, "failed": 0}
        todo: list[Item] = []
        for item in items:
            if not overwrite and genre_text(item, separator) and not set_by_genrekit(item, separator):
                self._log.debug("{}: keeps the genre a person set", _shown(item))
                counts["kept"] += 1
            else:
                todo.append(item)
        if not todo:
            return counts
        results = classify_files([syspath(item.path) for item in todo], self.classifier(),
                                 jobs=self.config["jobs"].get(int))
        for item, (_, result) in zip(todo, results):
            if isinstance(result, GenrekitError):
                self._log.warning("skipped {}", _shown(result))
                counts["failed"] += 1
                continue
            genres = chosen_genres(result, self.config["top"].get(int), self.config["min_confidence"].as_number())
            if not genres:
                self._log.info("{}: not sure enough ({} at {:.2f})", _shown(item), _shown(result.genre),
                               result.confidence)
                counts["unsure"] += 1
                continue
            counts["set"] += 1
            if pretend:
                ui.print_(f"{_shown(item)}: {_shown(separator.join(genres))} ({result.confidence:.2f})")
                continue
            self._mark(item, result, genres, separator)
            item.try_sync(write=write, move=False)
        self._log.info("{} {}, {} kept, {} not sure enough, {} failed", counts["set"],
                       "would be set" if pretend else "set", counts["kept"], counts["unsure"], counts["failed"])
        return counts

    def _mark(self, item: Item, prediction: Prediction, genres: Sequence[str], separator: str) -> None:
        """Set the genre and genrekit's mark beside it (what it wrote, how sure, which model)."""
        set_genres(item, genres, separator)
        item["genrekit_genre"] = genre_text(item, separator)
        item["genrekit_confidence"] = round(float(prediction.confidence), 4)
        item["genrekit_model"] = self._model_hash
        item["genrekit_probabilities"] = json.dumps(
            {genre: round(float(p), 4) for genre, p in prediction.top(len(prediction.probabilities))})


def _shown(value: object) -> str:
    """Text from outside (paths, tags, error messages) made safe for the terminal, as genrekit's CLI prints it."""
    from genrekit.cli.output import shown  # deferred: rich and typer load only when something is printed

    if isinstance(value, Item):  # as beets lists it; by its path where it has no title to list it by
        value = format(value) if value.get("title") else os.fsdecode(value.path)
    elif isinstance(value, bytes):
        value = os.fsdecode(value)
    return shown(value)
