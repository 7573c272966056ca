"""Who may import whom (ARCHITECTURE.md, "Import rules"), checked on the source.

Imports under `if TYPE_CHECKING:` are types only and exempt; every other import counts,
including the ones inside functions (deferred for start-up time, still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "aggregator"
TESTS = Path(__file__).resolve().parent

# Lower layers never import higher ones. A module is in the layer of its longest listed prefix.
LAYERS: dict[str, int] = {
    # 0: plain data and facts every stage shares
    "__init__": 0,
    "errors": 0,
    "models": 0,
    "xmlchars": 0,
    "urls": 0,
    "dates": 0,
    "atomic": 0,
    "sites": 0,
    "logs": 0,
    "progress": 0,
    "lru": 0,
    # 1: the stages, each pure or with its own I/O only
    "fetch": 1,
    "parse": 1,
    "clean": 1,
    "normalize": 1,
    "identity": 1,
    "dedup": 1,
    "merge": 1,
    "schedule": 1,
    "kinds": 1,
    "prepare": 1,
    "opml": 1,
    "config": 1,
    "metrics": 1,
    "workers": 1,
    "names": 1,
    "pidfile": 1,
    "starter": 1,
    # 2: the store
    "database": 2,
    "migrations": 2,
    "source_states": 2,
    "changes": 2,
    "listed": 2,
    "store": 2,
    "search": 2,
    "paging": 2,
    # 3: the outputs layer
    "outputs": 3,
    # 4: orchestration and entry points
    "poll": 4,
    "server": 4,
    "serving": 4,
    "live": 4,
    "checks": 4,
    "once": 5,
    "daemon": 5,
    "cli": 6,
    "__main__": 7,
}
# The few upward imports there are, each with its reason.
EXCEPTIONS = {
    # The store assigns a post's slug once, when the article is first stored (a post's name
    # never changes), by the posts output's rule.
    ("store", "outputs.posts"),
}


def _module(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return LAYERS[".".join(parts[:n])]
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and ARCHITECTURE.md")


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skipped


def _imports(path: Path, root: Path = PACKAGE) -> list[tuple[str, int]]:
    """(imported module inside the package, line) of every runtime import in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    here = _module(path, root).split(".") if _module(path, root) != "__init__" else []
    package = here if path.name == "__init__.py" else here[:-1]
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("aggregator")]
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            if node.module:
                found.append((".".join([*base, node.module]), node.lineno))
            else:  # `from . import x`: x may be a module or a name in the package
                for a in node.names:
                    target = ".".join([*base, a.name])
                    found.append((target if _exists(target) else ".".join(base), node.lineno))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aggregator"):
            found.append((str(node.module), node.lineno))
    return found


def _exists(module: str) -> bool:
    path = PACKAGE.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: _module(p))
def test_imports_are_relative(path: Path) -> None:
    absolute = [(m, line) for m, line in _imports(path) if m.startswith("aggregator")]
    assert not absolute, f"{path.name}: import relatively: {absolute}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: _module(p))
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    me = _module(path)
    mine = _layer(me)
    upward = [
        (target, line)
        for target, line in _imports(path)
        if target and _layer(target) > mine and (me, target) not in EXCEPTIONS
    ]
    assert not upward, f"{me} (layer {mine}) imports higher layers: {upward}"


def test_the_rules_catch_an_upward_import(tmp_path: Path) -> None:
    # Guards the guard: a stage importing the orchestrator, even lazily, is found; types are not.
    (tmp_path / "kinds").mkdir()
    source = tmp_path / "kinds" / "feed.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..store import Store\n"
        "def f():\n    from ..poll import poll_all\n    from . import base\n"
    )
    found = {m for m, _ in _imports(source, tmp_path)}
    assert found == {"poll", "kinds.base"}
    assert _layer("poll") > _layer("kinds.feed") == _layer("kinds")


@pytest.mark.parametrize("path", sorted(TESTS.glob("*.py")), ids=lambda p: p.name)
def test_no_test_module_imports_another(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)] + [
        a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
    ]
    assert not [n for n in names if n.startswith(("tests.test_", "tests.conftest"))], path.name
