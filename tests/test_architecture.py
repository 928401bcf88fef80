"""The layer rule of docs/architecture.md, read from the code: every import statement of every module (function-local
imports count, they are imports too) is parsed with ``ast`` and checked against the layers

    config → constants (<package>/choices.py) → core → models → domain packages → edges (api, console, cli)

A new top-level package is a domain package unless it is listed below, so arrears/, reconciliation/ … are checked
the day they appear. tests/test_iot_layers.py checks the order inside iot/ in the same way."""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import cast

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOT_CODE = {"tests", "bench"}  # tests and benchmarks may import anything

FOUNDATION = {"config", "core", "models"}
EDGES = {"api", "console", "cli", "tortoise_config"}
#: the application factory: mounts the API's blueprints and the console on one Sanic app (see docs/architecture.md)
COMPOSITION_ROOT = "api.app"
#: web frameworks: only the edges speak HTTP
WEB = {"sanic", "sanic_ext", "sanic_testing", "jinja2"}

#: Imports that break the rule and are tolerated for now: (importing module, imported module). Empty — the test
#: fails when an entry no longer occurs, so the list can only shrink; never add to it: fix the import instead.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Import:
    importer: str  # module doing the import
    imported: str  # our module it imports (the deepest one that exists)
    line: int
    typing_only: bool = False  # under ``if TYPE_CHECKING:``: read by type checkers, never executed

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.imported}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def our_modules() -> dict[str, Path]:
    files = list(ROOT.glob("*.py"))
    for init in ROOT.glob("*/__init__.py"):
        if init.parent.name not in NOT_CODE:
            files += init.parent.rglob("*.py")
    return {module_name(p): p for p in files}


def packages() -> set[str]:
    return {name.split(".")[0] for name in our_modules()}


def deepest_known(name: str) -> str | None:
    """``core.db.init_db`` → ``core.db``; a third-party name → None."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in our_modules():
            return candidate
        parts.pop()
    return None


def imports_of(module: str) -> Iterator[Import]:
    path = our_modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {id(inner) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                   for stmt in node.body for inner in ast.walk(stmt)}
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]  # a name or a submodule: deepest_known decides
        for name in names:
            found = deepest_known(name)
            if found is not None and found != module:
                yield Import(module, found, cast(ast.stmt, node).lineno, id(node) in typing_only)


@cache
def all_imports() -> tuple[Import, ...]:
    return tuple(imp for module in sorted(our_modules()) for imp in imports_of(module))


def current_imports() -> list[Import]:
    """Every import except the known violations."""
    return [imp for imp in all_imports() if (imp.importer, imp.imported) not in KNOWN_VIOLATIONS]


def unit(module: str) -> str:
    """The node of the package graph a module belongs to: its top-level package, except that the constants modules
    (``<package>.choices``), the migrations and the composition root are nodes of their own."""
    parts = module.split(".")
    if module == COMPOSITION_ROOT or module.startswith(COMPOSITION_ROOT + "."):
        return COMPOSITION_ROOT
    if len(parts) > 1 and parts[1] == "choices":
        return f"{parts[0]}.choices"
    if parts[:2] == ["models", "migrations"]:
        return "models.migrations"
    return parts[0]


def is_constants(node: str) -> bool:
    return node.endswith(".choices")


def layer_of(node: str) -> str:
    if is_constants(node):
        return "constants"
    if node in ("models.migrations", COMPOSITION_ROOT):
        return node
    root = node.split(".")[0]
    if root in FOUNDATION:
        return root
    return "edge" if root in EDGES else "domain"


def may_import(importer: str, imported: str) -> bool:
    """The import rule of docs/architecture.md, between two nodes of the package graph."""
    if importer == imported:
        return True
    mine, theirs = layer_of(importer), layer_of(imported)
    allowed: dict[str, set[str]] = {
        "config": set(),
        "constants": {"constants"},
        "core": {"config"},
        "models": {"config", "core", "constants"},  # config: defaults such as DEFAULT_TIMEZONE
        # generated by Tortoise's makemigrations, which references the enum types of CharEnumField; nothing else
        "models.migrations": {"constants"},
        "domain": {"config", "constants", "core", "models", "domain"},
        "edge": {"config", "constants", "core", "models", "domain", "edge", COMPOSITION_ROOT},
        COMPOSITION_ROOT: {"config", "constants", "core", "models", "domain", "edge"},
    }
    return theirs in allowed[mine]


def test_the_modules_are_found():
    assert {"config", "core", "models", "accounts", "leasing", "api", "console", "cli"} <= packages()
    assert len(all_imports()) > 500


@pytest.mark.parametrize("package", sorted(packages()))
def test_imports_follow_the_layers(package):
    wrong = [str(imp) for imp in current_imports()
             if imp.importer.split(".")[0] == package and not may_import(unit(imp.importer), unit(imp.imported))]
    assert not wrong, f"{package} ({layer_of(unit(package))}) breaks the layer rule:\n" + "\n".join(wrong)


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for imp in current_imports():
        a, b = unit(imp.importer), unit(imp.imported)
        if a != b:
            graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            assert state.get(nxt) != 1, "import cycle: " + " → ".join([*path, node, nxt])
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_only_the_edges_speak_http():
    wrong = []
    for module, path in our_modules().items():
        if layer_of(unit(module)) in ("edge", COMPOSITION_ROOT):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            wrong += [f"{module}:{node.lineno} imports {n}" for n in names if n.split(".")[0] in WEB]
    assert not wrong, "\n".join(wrong)


def test_route_modules_are_reached_through_the_blueprint_registry_only():
    """api/routes/<resource>.py are leaves: api/routes/__init__.py collects their blueprints; nobody else imports
    them (a constant two places need belongs to the domain or to settings)."""
    wrong = [str(imp) for imp in current_imports()
             if imp.imported.startswith("api.routes.") and imp.importer != "api.routes"]
    assert not wrong, "\n".join(wrong)


def test_known_violations_still_occur():
    """An entry that no longer occurs was fixed: remove it so it cannot come back unnoticed."""
    present = {(imp.importer, imp.imported) for imp in all_imports()}
    assert not KNOWN_VIOLATIONS - present, f"fixed, remove from KNOWN_VIOLATIONS: {KNOWN_VIOLATIONS - present}"


def test_every_package_is_installed_and_type_checked():
    """A new package is added to setuptools' include and to mypy's files in pyproject.toml (else it is neither
    installed by ``pip install .`` nor checked by ``make test``)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    checked = {f.removesuffix(".py").rstrip("/") for f in project["tool"]["mypy"]["files"]}
    ours = {p for p in packages() if (ROOT / p / "__init__.py").exists()}
    not_installed = {p for p in ours if not any(fnmatch.fnmatch(p, pattern) for pattern in include)}
    assert not not_installed, f"add to [tool.setuptools.packages.find] include: {sorted(not_installed)}"
    assert not ours - checked, f"add to [tool.mypy] files: {sorted(ours - checked)}"


@pytest.mark.parametrize(("importer", "imported", "expected"), [
    ("config", "core", False),
    ("core", "config", True),
    ("core", "models", False),
    ("core", "leasing", False),
    ("core", "leasing.choices", False),
    ("models", "core", True),
    ("models", "leasing.choices", True),
    ("models", "leasing", False),
    ("models.migrations", "leasing.choices", True),
    ("models.migrations", "core", False),
    ("models.migrations", "models", False),
    ("leasing.choices", "portfolio.choices", True),
    ("leasing.choices", "portfolio", False),
    ("leasing", "refunds", True),
    ("leasing", "api", False),
    ("leasing", "console", False),
    ("leasing", "cli", False),
    ("arrears", "leasing", True),  # a package not yet written is a domain package
    ("arrears", "api", False),
    ("console", "api", True),
    ("api", "console", True),  # allowed by layer; the cycle test forbids it outside the composition root
    ("api.app", "console", True),
    ("cli", "api.app", True),
    ("leasing", "api.app", False),
])
def test_the_rule_itself(importer, imported, expected):
    assert may_import(importer, imported) is expected


def module_cycles() -> list[list[str]]:
    """Cycles of the module graph (every import that runs, function-local ones included; not the type checkers'
    ``if TYPE_CHECKING:`` ones): strongly connected components of more than one module, by Tarjan's algorithm."""
    graph: dict[str, set[str]] = {}
    for imp in current_imports():
        if imp.typing_only:
            continue
        graph.setdefault(imp.importer, set()).add(imp.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(our_modules()):
        if node not in index:
            connect(node)
    return found


def test_no_import_cycle_between_modules():
    """Inside a package too: a function-local import that hides a cycle is still a cycle."""
    assert module_cycles() == []


def test_the_cycle_finder_finds_cycles(monkeypatch):
    """The finder itself, on a made-up graph: a → b → c → a is one cycle, d → a is not part of it, and a
    TYPE_CHECKING-only edge back does not close one."""
    fake = [Import("a", "b", 1), Import("b", "c", 1), Import("c", "a", 1), Import("d", "a", 1),
            Import("e", "d", 1), Import("d", "e", 1, typing_only=True)]
    monkeypatch.setattr(f"{__name__}.current_imports", lambda: fake)
    monkeypatch.setattr(f"{__name__}.our_modules", lambda: dict.fromkeys("abcde", Path()))
    assert module_cycles() == [["a", "b", "c"]]
