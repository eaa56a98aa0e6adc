"""The beets plugin (beetsplug/genrekit.py), run as beets runs it, on a temporary beets library.

Each test gets its own BEETSDIR with a config.yaml that loads the plugin from
this checkout (``pluginpath``), its own SQLite library and music folder, and
the tiny tones-vs-noise model, so verdicts are known and nothing touches the
network or the user's beets set-up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import soundfile as sf

from synth import sine, white_noise

beets = pytest.importorskip("beets", reason="beets is not installed (pip install 'genrekit[beets]')")

from beets import plugins as beets_plugins  # noqa: E402
from beets import ui as beets_ui  # noqa: E402
from beets.library import Item, Library  # noqa: E402
from mediafile import MediaFile  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SR = 22050


def _genre(item: Item) -> str:
    return ", ".join(item.genres) if "genres" in item._fields else str(item.get("genre") or "")


def _set_genre(item: Item, genre: str) -> None:
    if "genres" in item._fields:
        item.genres = [genre] if genre else []
    else:
        item.genre = genre


def _file_genre(path: Any) -> str:
    tags = MediaFile(beets.util.syspath(path))
    genres = getattr(tags, "genres", None)
    return ", ".join(genres or []) if genres is not None else str(tags.genre or "")


class BeetsRig:
    """A temporary beets set-up: config, library file, music folder; ``run`` is ``beet ARGS``."""

    def __init__(self, root: Path, model: Path) -> None:
        self.root = root
        self.beetsdir = root / "beetsdir"
        self.music = root / "music"
        self.db = root / "library.db"
        self.beetsdir.mkdir()
        self.music.mkdir()
        self.settings: dict[str, Any] = {
            "plugins": ["genrekit"],
            "pluginpath": [str(REPO / "beetsplug")],
            "library": str(self.db),
            "directory": str(self.music),
            "threaded": False,
            "create_backup_before_migrations": False,
            "import": {"write": False, "copy": False, "move": False, "autotag": False, "quiet": True,
                       "log": None, "incremental": False, "duplicate_action": "keep"},
            "genrekit": {"model": str(model)},
        }

    def configure(self, **genrekit: Any) -> None:
        self.settings["genrekit"].update(genrekit)

    def write_clip(self, name: str, kind: str, seed: int = 0) -> Path:
        y = sine(330.0 + 40 * seed, seconds=2.0, amplitude=0.4) if kind == "tones" else white_noise(2.0, seed=seed)
        path = self.root / "incoming" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, y, SR, format="FLAC")
        return path

    def add(self, *paths: Path, genre: str = "") -> list[int]:
        """Add files to the library as beets' importer would (their tags read by beets); returns item ids."""
        lib = Library(str(self.db), str(self.music))
        ids = []
        try:
            for path in paths:
                item = Item.from_path(str(path))
                _set_genre(item, genre)
                lib.add(item)
                ids.append(item.id)
        finally:
            lib._close()
        return ids

    def items(self) -> dict[str, Item]:
        lib = Library(str(self.db), str(self.music))
        try:
            return {Path(beets.util.syspath(i.path)).name: i for i in lib.items()}
        finally:
            lib._close()

    def run(self, *args: str) -> None:
        (self.beetsdir / "config.yaml").write_text(json.dumps(self.settings), encoding="utf-8")  # YAML reads JSON
        beets_plugins._instances.clear()
        beets_plugins.BeetsPlugin.listeners.clear()
        beets_plugins.BeetsPlugin._raw_listeners.clear()
        beets.config.clear()
        beets.config._materialized = False
        beets_ui._raw_main(list(args))


@pytest.fixture
def rig(tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BeetsRig]:
    import beetsplug

    monkeypatch.setenv("BEETSDIR", str(tmp_path / "beetsdir"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "path", list(sys.path))  # beets appends its plugin paths to sys.path
    monkeypatch.setattr(beetsplug, "__path__", list(beetsplug.__path__))  # ... and to beetsplug's
    handlers = list(beets_ui.log.handlers)
    yield BeetsRig(tmp_path, tiny_model)
    beets_plugins._instances.clear()
    beets_plugins.BeetsPlugin.listeners.clear()
    beets_plugins.BeetsPlugin._raw_listeners.clear()
    beets.config.clear()
    beets.config._materialized = False
    beets_ui.log.handlers[:] = handlers  # the stderr handler beets adds would outlive this test's capture


@pytest.fixture
def library(rig: BeetsRig) -> BeetsRig:
    """Two tone clips and two noise clips in the library, without genres."""
    rig.add(*(rig.write_clip(f"tone{i}.flac", "tones", seed=i) for i in range(2)),
            *(rig.write_clip(f"noise{i}.flac", "noise", seed=i) for i in range(2)))
    return rig


def test_genrekit_command_stores_genre_and_mark_in_the_library_only(library: BeetsRig, tiny_model: Path) -> None:
    library.run("genrekit")

    items = library.items()
    assert {name: _genre(item) for name, item in items.items()} == {
        "tone0.flac": "tones", "tone1.flac": "tones", "noise0.flac": "noise", "noise1.flac": "noise"}
    for item in items.values():
        assert item["genrekit_genre"] == _genre(item)
        assert item["genrekit_model"] == hashlib.sha256(tiny_model.read_bytes()).hexdigest()
        assert 0.5 < item["genrekit_confidence"] <= 1.0
        probabilities = json.loads(item["genrekit_probabilities"])
        assert set(probabilities) == {"tones", "noise"}
        assert max(probabilities, key=probabilities.get) == _genre(item)
        assert _file_genre(item.path) == ""  # import.write is off: the file's tags are untouched


def test_write_option_writes_tags_through_beets(library: BeetsRig) -> None:
    library.run("genrekit", "-w", "path::tone0")

    items = library.items()
    assert _file_genre(items["tone0.flac"].path) == "tones"
    assert _genre(items["tone1.flac"]) == ""  # the query chose tone0 only


def test_import_write_config_is_followed(library: BeetsRig) -> None:
    library.settings["import"]["write"] = True
    library.run("genrekit", "path::noise1")

    assert _file_genre(library.items()["noise1.flac"].path) == "noise"


def test_a_genre_a_person_set_is_kept_unless_overwrite(rig: BeetsRig) -> None:
    rig.add(rig.write_clip("human.flac", "tones"), genre="Ambient")
    rig.add(rig.write_clip("tone.flac", "tones"))
    rig.run("genrekit")
    assert _genre(rig.items()["human.flac"]) == "Ambient"
    assert "genrekit_model" not in rig.items()["human.flac"]

    rig.run("genrekit", "--overwrite")
    assert _genre(rig.items()["human.flac"]) == "tones"


def test_a_genre_genrekit_set_may_be_replaced_but_not_once_a_person_edited_it(rig: BeetsRig) -> None:
    rig.add(rig.write_clip("a.flac", "noise"), rig.write_clip("b.flac", "noise"))
    rig.run("genrekit")
    lib = Library(str(rig.db), str(rig.music))
    for item in lib.items():
        item["genrekit_genre"] = "tones"  # as if an earlier model had said tones
        _set_genre(item, "tones")
        if Path(beets.util.syspath(item.path)).name == "b.flac":
            _set_genre(item, "Harsh Noise")  # ... and a person corrected b since
        item.store()
    lib._close()

    rig.run("genrekit")

    assert _genre(rig.items()["a.flac"]) == "noise"  # genrekit's own, unchanged: replaced
    assert _genre(rig.items()["b.flac"]) == "Harsh Noise"  # edited by a person: kept


def test_a_genre_genrekit_tag_wrote_into_the_file_may_be_replaced(rig: BeetsRig) -> None:
    """A file whose genre tag carries genrekit's own provenance (written by ``genrekit tag``) is genrekit's."""
    from mutagen.flac import FLAC

    marked, edited = rig.write_clip("marked.flac", "noise"), rig.write_clip("edited.flac", "noise")
    for path, genre in ((marked, "tones"), (edited, "Harsh Noise")):
        tags = FLAC(path)
        tags.update({"GENRE": genre, "GENREKIT_MODEL": "ab" * 32, "GENREKIT_CONFIDENCE": "0.9",
                     "GENREKIT_GENRE": "tones"})
        tags.save()
    rig.add(marked, genre="tones")
    rig.add(edited, genre="Harsh Noise")

    rig.run("genrekit")

    assert _genre(rig.items()["marked.flac"]) == "noise"
    assert _genre(rig.items()["edited.flac"]) == "Harsh Noise"


def test_pretend_prints_and_changes_nothing(library: BeetsRig, capsys: pytest.CaptureFixture[str]) -> None:
    library.run("genrekit", "-p")

    out = capsys.readouterr().out
    assert out.count(": tones (") == 2 and out.count(": noise (") == 2
    assert all(_genre(item) == "" and "genrekit_model" not in item for item in library.items().values())


def test_min_confidence_and_top(library: BeetsRig) -> None:
    library.configure(min_confidence=1.01)
    library.run("genrekit", "path::tone0")
    assert _genre(library.items()["tone0.flac"]) == ""  # never that sure: nothing set

    library.configure(min_confidence=0.0, top=2, separator=" / ")
    library.run("genrekit", "path::tone1")
    item = library.items()["tone1.flac"]
    assert item["genrekit_genre"] == "tones / noise"
    if "genres" in item._fields:
        assert item.genres == ["tones", "noise"]


def test_a_file_that_fails_is_logged_and_skipped(library: BeetsRig, caplog: pytest.LogCaptureFixture) -> None:
    broken = library.root / "incoming" / "broken.flac"
    broken.write_bytes(b"fLaC" + b"\x00" * 64)
    lib = Library(str(library.db), str(library.music))
    lib.add(Item(path=str(broken), title="broken"))
    lib._close()

    with caplog.at_level(logging.WARNING, logger="beets"):
        library.run("genrekit")

    assert any("broken.flac" in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)
    items = library.items()
    assert _genre(items["broken.flac"]) == ""
    assert _genre(items["noise0.flac"]) == "noise" and _genre(items["tone0.flac"]) == "tones"


def test_a_bad_model_file_is_a_user_error(library: BeetsRig) -> None:
    bad = library.root / "bad.genre"
    bad.write_bytes(b"not a model")
    library.configure(model=str(bad))

    with pytest.raises(beets_ui.UserError, match="cannot load the model"):
        library.run("genrekit")


def test_auto_classifies_on_import_and_leaves_writing_to_beets(rig: BeetsRig) -> None:
    rig.write_clip("tone.flac", "tones")
    rig.write_clip("noise.flac", "noise")
    rig.configure(auto=True)
    rig.settings["import"]["write"] = True

    rig.run("import", "-A", "-q", "-s", str(rig.root / "incoming"))

    items = rig.items()
    assert {name: _genre(item) for name, item in items.items()} == {"tone.flac": "tones", "noise.flac": "noise"}
    assert all("genrekit_model" in item for item in items.values())
    # beets writes tags on import only for retagged items, not as-is (-A) ones: the library holds the genre ...
    assert _file_genre(items["tone.flac"].path) == ""
    rig.run("write")  # ... until beets is asked to write it
    assert _file_genre(items["tone.flac"].path) == "tones"


def test_not_auto_by_default(rig: BeetsRig) -> None:
    rig.write_clip("tone.flac", "tones")
    rig.run("import", "-A", "-q", "-s", str(rig.root / "incoming"))

    assert _genre(rig.items()["tone.flac"]) == ""


def test_plugin_ships_with_the_package() -> None:
    """pyproject.toml packages beetsplug/genrekit.py (a namespace package: no __init__.py, as beets expects)."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    found = config["tool"]["setuptools"]["packages"]["find"]
    assert not (REPO / "beetsplug" / "__init__.py").exists()
    assert "." in found["where"] and any(p.startswith("beetsplug") for p in found["include"])
