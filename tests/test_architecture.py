"""The layout keeps its promises: layers import downwards, no cycles, small modules.

Read from the source with ``ast`` (nothing is imported), so a violation is
found wherever the import sits: at module level, inside a function, or under
``TYPE_CHECKING``.

- Judging and codecs stay pure: ``checks/``, ``protocol/``, ``models/`` and
  ``trust/`` import nothing from ``net/`` (I/O), ``engine/`` or ``cli/``;
  ``net/`` nothing from ``engine/`` or ``cli/``; the renderers nothing that
  does I/O.
- No import cycle among mxtls modules.
- No module over :data:`MAX_MODULE_LINES` lines, except data tables.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "mxtls"
MAX_MODULE_LINES = 650
# Tables of data (one row per suite, scenario or finding code), not logic.
DATA_TABLES = frozenset(
    {"mxtls.protocol.tls_registry", "mxtls.lab.scenarios", "mxtls.checks.explain"}
)
# layer -> the layers it must not import (front ends and services sit on top)
_FRONT = ("cli", "monitor", "store", "web", "bulk", "lab", "testing")
FORBIDDEN = {
    "checks": ("net", "engine", *_FRONT),
    "protocol": ("net", "engine", "checks", *_FRONT),
    "models": ("net", "engine", "checks", *_FRONT),
    "trust": ("net", "engine", "checks", *_FRONT),
    "net": ("engine", *_FRONT),
    "render": ("net", "engine", *_FRONT),
    "engine": _FRONT,
}
# Pure modules of a service that a lower layer may reuse (its docstring says so).
SHARED_PURE = frozenset({"mxtls.monitor.diff"})


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """Every mxtls module ``name`` imports (resolved; ``from pkg import mod`` counts mod)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            if target in MODULES:
                yield target


def _layer(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_graph_is_read() -> None:
    assert "mxtls.engine.run" in MODULES and "mxtls.checks.judge" in MODULES
    pipeline = MODULES["mxtls.engine.pipeline"]
    assert "mxtls.checks.judge" in set(_imports("mxtls.engine.pipeline", pipeline))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_downwards(layer: str) -> None:
    bad = sorted(
        f"{name} imports {target}"
        for name, path in MODULES.items()
        if _layer(name) == layer
        for target in _imports(name, path)
        if _layer(target) in FORBIDDEN[layer] and target not in SHARED_PURE
    )
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", sorted(SHARED_PURE))
def test_shared_service_modules_stay_pure(name: str) -> None:
    pure = {"models", "checks", "protocol", "trust"}
    bad = sorted(t for t in _imports(name, MODULES[name]) if _layer(t) not in pure)
    assert not bad, f"{name} may be reused from below only while it is pure: {bad}"


def _graph() -> dict[str, set[str]]:
    """Edges between modules, with the packages a module's import executes.

    ``import a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first; those
    edges count, except to packages the importer itself lives in (a package
    importing its own submodules is how packages work, not a cycle).
    """
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
        edges: set[str] = set()
        for target in _imports(name, path):
            parts = target.split(".")
            for i in range(2, len(parts) + 1):
                step = ".".join(parts[:i])
                if step in MODULES and step not in own:
                    edges.add(step)
        graph[name] = edges - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_modules_stay_small() -> None:
    big = {
        name: lines
        for name, path in MODULES.items()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
        and name not in DATA_TABLES
    }
    assert not big, f"split these by concern (at most {MAX_MODULE_LINES} lines): {big}"
