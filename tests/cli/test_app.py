"""The command-line app as a whole: help pages, --version, start-up cost, and choices that agree with the library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from typing import Any, get_args

import pytest
import typer

import genrekit.cli
from genrekit.cli import app
from genrekit.cli.choices import (
    CLASSIC_KINDS,
    Aggregation,
    FineTune,
    Layout,
    ModelKind,
    Split,
    TagModel,
)


def _command_paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under ``command``, as the words that name it (the root is ``()``)."""
    paths = [prefix]
    for name, sub in getattr(command, "commands", {}).items():
        paths += _command_paths(sub, (*prefix, name))
    return paths


COMMANDS = _command_paths(typer.main.get_command(app))


def test_every_command_is_registered():
    assert {" ".join(p) for p in COMMANDS} >= {
        "", "demo", "evaluate", "features", "predict", "tags", "train", "models", "models install", "models list"
    }


@pytest.mark.parametrize("words", COMMANDS, ids=lambda p: " ".join(p) or "genrekit")
def test_help_shows_flags_as_flags(cli, words):
    result = cli(*words, "--help")
    assert result.exit_code == 0, result.output
    assert "--help" in result.stdout
    assert "<bool>" not in result.stdout


def test_help_still_shows_the_types_of_options_that_take_values(cli):
    page = cli("train", "--help").stdout
    assert "<svm|rf|logreg|knn|gbm" in page  # the choices of --model (the column may wrap after any of them)
    assert "<float>" in page and "<path>" in page


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.startswith("genrekit ")


def _loaded_after(statement: str, modules: tuple[str, ...]) -> list[str]:
    code = f"import sys; {statement}; print(','.join(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    return [m for m in out.split(",") if m]


def test_importing_the_cli_stays_cheap():
    heavy = ("torch", "numba", "librosa", "sklearn", "onnxruntime", "genrekit.training", "genrekit.trainers")
    assert _loaded_after("import genrekit.cli", heavy) == []


def _imports(path: Path) -> set[str]:
    """The modules ``path`` imports (``from a.b import c`` counts as ``a.b``)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_no_import_cycle_between_the_package_and_its_commands():
    package = Path(genrekit.cli.__file__).parent
    for path in package.glob("*.py"):
        imported = _imports(path)
        if path.name != "__init__.py":
            assert "genrekit.cli" not in imported, f"{path.name} imports the genrekit.cli package"
        if not path.stem.endswith("_cmd"):
            assert not {m for m in imported if m.endswith("_cmd")}, f"{path.name} imports a command module"
    # importing one command module first still gives a CLI with every command
    code = ("import genrekit.cli.train_cmd, typer; from genrekit.cli import app; "
            "print(sorted(typer.main.get_command(app).commands))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert "'predict'" in out and "'train'" in out


def test_choices_agree_with_the_library():
    from genrekit.datasets import Layout as DatasetLayout
    from genrekit.evaluation import AGGREGATION_METHODS
    from genrekit.models.cnn import FINE_TUNE_LEVELS
    from genrekit.musicnn.paths import MODELS as TAGGERS
    from genrekit.trainers import ESTIMATORS, available_trainers
    from genrekit.training import SPLITS

    assert [k.value for k in CLASSIC_KINDS] == list(ESTIMATORS)
    assert {k.value for k in ModelKind} == set(available_trainers())
    assert [a.value for a in Aggregation] == list(AGGREGATION_METHODS)
    assert [f.value for f in FineTune] == list(FINE_TUNE_LEVELS)
    assert {s.value for s in Split} == set(SPLITS)
    assert {layout.value for layout in Layout} == set(get_args(DatasetLayout))
    assert [m.value for m in TagModel] == list(TAGGERS)


def test_a_wrong_choice_is_a_usage_error_naming_the_choices(cli, tiny_collection):
    result = cli("train", tiny_collection, "--aggregation", "median")
    assert result.exit_code == 2
    assert "'median' is not one of" in result.output
