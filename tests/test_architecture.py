"""The package's import graph, read from the source: dependencies point one way, and no module is in a cycle.

Every ``import`` counts, at top level or inside a function (a deferred
import still makes a dependency); only those under ``if TYPE_CHECKING:``
are left out, since they never run. ``from a.b import c`` depends on the
module ``a.b.c`` when there is one, else on ``a.b``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Layers, lowest first: a module may import from its own layer or those below, never above.
# The root package holds ``__version__`` and a lazy API (importlib by name, no import statements),
# so it sits at the bottom.
LAYERS: list[tuple[str, ...]] = [
    ("genrekit", "genrekit.errors", "genrekit.runtime", "genrekit.fileio", "genrekit.processes",
     "genrekit.distributed", "genrekit.models.onnx_wire"),
    ("genrekit.audio",),
    ("genrekit.musicnn", "genrekit.features", "genrekit.datasets", "genrekit.evaluation"),
    ("genrekit.store", "genrekit.models"),
    ("genrekit.predict",),
    ("genrekit.trainers", "genrekit.report", "genrekit.batch"),
    ("genrekit.training", "genrekit.selection", "genrekit.comparison", "genrekit.doctor"),
    ("genrekit.library", "genrekit.serve"),
    ("genrekit.cli",),
]


def module_files(src: Path = SRC) -> dict[str, Path]:
    out = {}
    for path in (src / "genrekit").rglob("*.py"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    return skipped


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """``module -> modules it imports`` within genrekit, read from the sources under ``src``."""
    modules = module_files(src)

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        skipped = _type_checking_nodes(tree)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] == "genrekit":
                    found = resolve(target)
                    if found and found != module:
                        graph[module].add(found)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def layer_of(module: str) -> int:
    best, rank = -1, None
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            covers = module == prefix or (prefix != "genrekit" and module.startswith(prefix + "."))
            if covers and len(prefix) > best:
                best, rank = len(prefix), i
    assert rank is not None, f"{module} is in no layer: add it to LAYERS"
    return rank


def test_no_module_is_in_an_import_cycle():
    assert cycles(import_graph()) == []


def test_imports_point_down_the_layers():
    upward = [f"{m} -> {t}" for m, targets in import_graph().items() for t in sorted(targets)
              if layer_of(t) > layer_of(m)]
    assert upward == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("source, expected", [
    ("from genrekit.features import sets\n", "genrekit.features.sets"),
    ("from genrekit.features import get_feature_set\n", "genrekit.features"),
    ("def f():\n    import genrekit.audio\n", "genrekit.audio"),
])
def test_the_graph_counts_function_level_and_submodule_imports(tmp_path, source, expected):
    package = tmp_path / "genrekit"
    (package / "features").mkdir(parents=True)
    for name in ("__init__.py", "audio.py", "probe.py", "features/__init__.py", "features/sets.py"):
        (package / name).write_text("")
    (package / "probe.py").write_text(source + "if TYPE_CHECKING:\n    import genrekit.cli\n")
    assert import_graph(tmp_path)["genrekit.probe"] == {expected}
