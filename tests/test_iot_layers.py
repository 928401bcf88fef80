"""iot/ is a pipeline read top to bottom: every module imports only modules of lower layers (so there is no import
cycle), the transport imports no rule, job or action, and the pure modules import no database, clock or network.
Function-local imports count as imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

IOT = Path(__file__).resolve().parent.parent / "iot"

#: lowest first; a module may import iot modules of strictly lower layers only
LAYERS: list[set[str]] = [
    {"choices"},
    {"adapters", "meter", "occupancy"},
    {"rules", "health", "acl"},  # health: the judgement over consumers' heartbeats; acl: broker access rules
    {"actions", "heartbeat", "credentials", "daily_facts"},  # credentials: broker accounts (database); daily_facts:
    # the (unit, day) facts detection reads
    {"ingest"},
    {"detection", "consumer"},
    {"jobs", "service", "broker_auth"},  # broker_auth: the embedded broker's auth and topic plugins
    {"simulator"},  # the demo: registers devices, publishes, runs detection
    {"runner"},  # background services: consumer + sweeper, simulator
]
PURE = {"choices", "adapters", "meter", "occupancy", "rules", "health", "acl"}
IMPURE_ROOTS = {"tortoise", "models", "paho", "asyncpg", "aiosqlite", "socket", "core", "sanic", "amqtt", "alerts",
                "workorders", "inspections", "refunds", "notifications", "config"}
#: pure modules may use these domain constants (StrEnums, no I/O)
PURE_ALLOWED = {"alerts.choices", "portfolio.choices", "leasing.choices", "workorders.choices",
                "config.settings"}  # config.settings: its constants (DEFAULT_TIMEZONE); no I/O on import


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "iot":
                found.update(f"iot.{alias.name}" for alias in node.names)
    return found


MODULES = {p.stem: imports_of(p) for p in IOT.glob("*.py") if p.stem != "__init__"}


def layer(name: str) -> int:
    for n, members in enumerate(LAYERS):
        if name in members:
            return n
    raise AssertionError(f"iot.{name} is in no layer of tests/test_iot_layers.py: place it")


def test_every_module_has_a_layer():
    for name in MODULES:
        layer(name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_only_lower_layers(name):
    mine = layer(name)
    for imported in MODULES[name]:
        if imported.startswith("iot."):
            other = imported.split(".")[1]
            assert layer(other) < mine, f"iot.{name} (layer {mine}) imports iot.{other} (layer {layer(other)})"


def test_no_import_cycle():
    graph = {name: {i.split(".")[1] for i in imps if i.startswith("iot.")} for name, imps in MODULES.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            assert state.get(nxt) != 1, "import cycle: " + " → ".join([*path, node, nxt])
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [])


@pytest.mark.parametrize("name", sorted(PURE))
def test_pure_modules_do_no_io(name):
    for imported in MODULES[name]:
        root = imported.split(".")[0]
        assert imported in PURE_ALLOWED or root not in IMPURE_ROOTS, f"iot.{name} imports {imported}"


def test_transport_is_transport_only():
    assert not {i for i in MODULES["consumer"] if i in {"iot.rules", "iot.actions", "iot.detection", "iot.jobs"}}
