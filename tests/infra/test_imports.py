"""The shape of the code: small modules, imports that flow one way
(``bench -> local -> layers <- functions``), no cycles inside the layer, and no HTTP code
in the functions that have no HTTP (docs/architecture.md, "Components")."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from reservations import access

ROOT = Path(__file__).parents[2]
LAYER = ROOT / "layers" / "domain"
FUNCTIONS = ROOT / "functions"
MAX_MODULE_LINES = 400
MAX_API_FUNCTION_LINES = 150


def modules_under(folder: Path) -> Iterator[Path]:
    yield from sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def layer_module_name(path: Path) -> str:
    parts = list(path.relative_to(LAYER).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, *, top_level_only: bool = False) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved against the
    layer); with ``top_level_only``, only those that run when it is imported."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = layer_module_name(path).split(".") if path.is_relative_to(LAYER) else []
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                if not top_level_only:
                    visit(node.body)
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    prefix = package[: len(package) - node.level + 1]
                    base = ".".join([*prefix, base] if base else prefix)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif not top_level_only or isinstance(node, ast.If | ast.Try | ast.With):
                visit([n for n in ast.iter_child_nodes(node) if isinstance(n, ast.stmt)])

    visit(tree.body)
    return found


@cache
def layer_modules() -> dict[str, Path]:
    return {layer_module_name(p): p for p in modules_under(LAYER / "reservations")}


def layer_dependencies(name: str, *, top_level_only: bool) -> set[str]:
    modules = layer_modules()
    return {
        imported
        for imported in imports_of(modules[name], top_level_only=top_level_only)
        if imported in modules and imported != name
    }


def closure(roots: set[str]) -> set[str]:
    """Every layer module that importing ``roots`` may load (lazy imports included)."""
    seen: set[str] = set()
    todo = [r for r in roots if r in layer_modules()]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parent = name.rpartition(".")[0]
        todo += [parent] if parent else []
        todo += sorted(layer_dependencies(name, top_level_only=False) - seen)
    return seen


# The service's code and the tools beside it; test modules are tables of cases and may run
# longer.
SHAPED = (LAYER, FUNCTIONS, ROOT / "local", ROOT / "bench")


@pytest.mark.parametrize(
    "path",
    [path for folder in SHAPED for path in modules_under(folder)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_module_is_over_400_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


def test_the_api_function_keeps_only_the_resolver_and_the_handler() -> None:
    lines = (FUNCTIONS / "api" / "api_function.py").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_API_FUNCTION_LINES


NO_HTTP = [
    FUNCTIONS / "sweeper" / "sweeper_function.py",
    FUNCTIONS / "stream" / "stream_function.py",
    FUNCTIONS / "erp" / "erp_function.py",
    FUNCTIONS / "events" / "events_function.py",
    *sorted((LAYER / "reservations").glob("erp*.py")),
    *sorted((LAYER / "reservations" / "events").glob("*.py")),
    LAYER / "reservations" / "dead_letters.py",
]


@pytest.mark.parametrize("path", NO_HTTP, ids=lambda p: p.name)
def test_functions_without_http_load_no_http_code(path: Path) -> None:
    own = layer_module_name(path) if path.is_relative_to(LAYER) else None
    loaded = closure(imports_of(path) | ({own} if own else set()))
    http = sorted(
        m for m in loaded if m == "reservations.http" or m.startswith("reservations.http.")
    )
    assert not http, f"{path.name} loads {http}"


def test_the_http_boundary_is_seen_by_the_checks() -> None:
    """The check above can fail: the API function does load the HTTP package."""
    assert "reservations.http.models" in closure(
        imports_of(FUNCTIONS / "api" / "reservation_routes.py")
    )


def _tops(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imports_of(path)}


FORBIDDEN = {
    # who: what it must never import
    "layers": {"local", "bench", "tests", "api_function"},
    "functions": {"local", "bench", "tests"},
    "local": {"bench", "tests"},
}


@pytest.mark.parametrize("area", sorted(FORBIDDEN))
def test_imports_flow_one_way(area: str) -> None:
    folder = {"layers": LAYER, "functions": FUNCTIONS, "local": ROOT / "local"}[area]
    handlers = {p.stem for p in modules_under(FUNCTIONS)}
    forbidden = FORBIDDEN[area] | (handlers if area == "layers" else set())
    wrong = {
        str(path.relative_to(ROOT)): sorted(_tops(path) & forbidden)
        for path in modules_under(folder)
        if _tops(path) & forbidden
    }
    assert not wrong


def test_no_import_cycle_inside_the_layer() -> None:
    graph = {name: layer_dependencies(name, top_level_only=True) for name in layer_modules()}
    cycles: list[list[str]] = []

    def walk(name: str, path: list[str], done: set[str]) -> None:
        if name in path:
            cycles.append([*path[path.index(name) :], name])
            return
        if name in done:
            return
        for dependency in sorted(graph[name]):
            walk(dependency, [*path, name], done)
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        walk(name, [], done)
    assert not cycles, cycles


def test_the_api_function_loads_no_console_event_operator_or_label_code_at_init() -> None:
    """Cold start: what only operators, labels or the events function need is imported on
    first use (docs/performance.md), their routers too (lazy_routers); the document and
    every such route still reach them (tests/api/test_operations.py, the labels' and the
    console's)."""
    import subprocess
    import sys

    import lazy_routers

    probe = "import sys, api_function; print(' '.join(sys.modules))"
    paths = [str(LAYER), str(FUNCTIONS / "api"), str(ROOT)]
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": ":".join(paths), "AWS_DEFAULT_REGION": "us-east-1", "PATH": ""},
        timeout=120,
    )
    loaded = set(done.stdout.split())
    assert "reservations.service" in loaded  # the probe sees what init imports
    lazy = {
        "reservations.operations",
        "reservations.drift",
        "reservations.store.notices",
        "reservations.labelling",
    }
    assert not loaded & lazy
    routers = {*lazy_routers.MODULES, "reservations.http.operations_models"}
    assert not loaded & routers
    assert not {m for m in loaded if m.startswith("reservations.events")}


def test_a_lazy_route_is_included_by_the_module_that_serves_it() -> None:
    """A first request includes the router that ``lazy_routers.module_for`` names for its
    resource: every route of a lazy router must be found there, and no other route."""
    import importlib

    from aws_lambda_powertools.event_handler.api_gateway import Router

    import lazy_routers

    served: dict[str, str] = {}
    for module in lazy_routers.MODULES:
        router: Router = importlib.import_module(module).router
        for key in router._routes:  # (rule, methods, ...) as Powertools keeps them
            resource = re.sub(r"<(\w+)>", r"{\1}", key[0])
            served[resource] = module
    assert {"label_routes", "operations_routes", "console_routes"} <= set(served.values())
    for resource, module in served.items():
        assert lazy_routers.module_for(resource) == module, resource
    eager = {resource for _, resource in access.ROUTE_SCOPES} - set(served)
    assert "/reservations/{reservation_id}" in eager
    for resource in eager:
        assert lazy_routers.module_for(resource) is None, resource
