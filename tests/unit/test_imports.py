"""The project's modules import in any order: each one alone in a fresh interpreter, no cycle in the import graph,
dialogs/ (the decisions) keeps away from the service's I/O, and domain/ (the rules) imports no project package.

The graph is read from the source with `ast`: every `import` counts, at the top of a module, inside a function or
under `if TYPE_CHECKING:`. Importing `a.b.c` runs the packages `a` and `a.b` first, so it counts as importing each
of them too (an `__init__` that imports its submodules would close a cycle through them); a module's own enclosing
packages are not counted, since they are always initialised before it, whatever it imports.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "dialogs", "domain", "gateway_mocks")


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    package: bool


def project_modules() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            modules[".".join(parts)] = Module(".".join(parts), path, is_package)
    return modules


def _imported_names(module: Module) -> list[tuple[str, int]]:
    """Every dotted name the module imports, absolute, with its line: `from a import b` gives `a.b` (a module or
    not: the caller resolves it)."""
    names: list[tuple[str, int]] = []
    package = module.name if module.package else module.name.rpartition(".")[0]
    for node in ast.walk(ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            names += [(f"{source}.{alias.name}", node.lineno) for alias in node.names]
    return names


def _is_within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def import_graph(modules: dict[str, Module]) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """(project module -> {project module it imports: line}, project module -> {library top-level name: line})."""
    graph: dict[str, dict[str, int]] = {}
    external: dict[str, dict[str, int]] = {}
    for name, module in modules.items():
        edges: dict[str, int] = {}
        libraries: dict[str, int] = {}
        for imported, line in _imported_names(module):
            if imported.split(".")[0] not in PACKAGES:
                top = imported.split(".")[0]
                if top not in sys.stdlib_module_names and top != "__future__":
                    libraries.setdefault(top, line)
                continue
            target = imported
            while target not in modules:  # `from a.b import name` where `name` is not a module: a.b
                target = target.rpartition(".")[0]
            ancestors = []
            parent = target.rpartition(".")[0]
            while parent:
                if not _is_within(name, parent):
                    ancestors.append(parent)
                parent = parent.rpartition(".")[0]
            for loaded in (target, *ancestors):
                if loaded != name:
                    edges.setdefault(loaded, line)
        graph[name] = edges
        external[name] = libraries
    return graph, external


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One shortest cycle for each group of modules that import one another (strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(start: str) -> None:  # Tarjan's algorithm, iterative: the graph may be deep
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
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
                    components.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return [_shortest_cycle(graph, set(component), component[0]) for component in components]


def _shortest_cycle(graph: dict[str, dict[str, int]], members: set[str], start: str) -> list[str]:
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node]):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if child in members and child not in came_from:
                came_from[child] = node
                queue.append(child)
    raise AssertionError(f"no cycle through {start}")


def _describe(path: list[str], graph: dict[str, dict[str, int]], modules: dict[str, Module]) -> str:
    steps = [f"  {a} -> {b}  ({modules[a].path.relative_to(ROOT)}:{graph[a][b]})" for a, b in pairwise(path)]
    return " -> ".join(path) + "\n" + "\n".join(steps)


MODULES = project_modules()
GRAPH, EXTERNAL = import_graph(MODULES)


# --- every module alone -------------------------------------------------------------------------------------------


def _import_alone(name: str) -> tuple[str, str | None]:
    done = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode == 0:
        return name, None
    return name, (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    # One interpreter per module (a cleared sys.modules is not a fresh interpreter: the libraries stay loaded).
    # 15-22 s for 96 modules on 2 cores.
    names = [name for name in MODULES if not name.endswith(".__main__")]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        failures = {name: error for name, error in pool.map(_import_alone, names) if error is not None}
    assert not failures, "these modules fail when imported first:\n" + "\n".join(
        f"  {name}: {error}" for name, error in sorted(failures.items()))


# --- the graph ----------------------------------------------------------------------------------------------------


def test_the_graph_sees_imports_of_every_kind() -> None:
    assert "bot.clock" in GRAPH["bot.messages"]  # at the top
    assert "bot.all_messages" in GRAPH["bot.texts_doc"]
    assert "bot.channels.ussd" in GRAPH["bot.app"]  # inside create_app
    assert "bot.ops" in GRAPH["bot.app"]
    assert "bot.ops" not in GRAPH["bot.ops.auth"]  # its own package: initialised before it in any case
    assert "bot.channels" in GRAPH["bot.all_messages"]  # the package a submodule is loaded from
    assert "transitions" in EXTERNAL["dialogs.spec"]
    assert "domain.almaty" in GRAPH["bot.clock"]  # domain/ is a project package of its own, not a library


def test_the_cycle_finder_names_each_cycle() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1, "d": 1}, "d": {}, "e": {"e.f": 1}, "e.f": {"e": 1}}
    assert cycles(graph) == [["a", "b", "c", "a"], ["e", "e.f", "e"]]
    assert cycles({"a": {"b": 1}, "b": {}}) == []


def test_no_import_cycle() -> None:
    found = cycles(GRAPH)
    assert not found, "import cycles (module -> module it imports, file:line of the import):\n" + "\n".join(
        _describe(path, GRAPH, MODULES) for path in found)


# --- directions ---------------------------------------------------------------------------------------------------


def _reached(start: str) -> dict[str, list[str]]:
    """Every project module `start` loads, directly or through others, with the chain of imports that does it."""
    chains = {start: [start]}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(GRAPH[node]):
            if child not in chains:
                chains[child] = [*chains[node], child]
                queue.append(child)
    return chains


def _outside(package: str, allowed: tuple[str, ...], forbidden_libraries: tuple[str, ...]) -> list[str]:
    """The chains of imports by which `package` reaches a project module outside it and `allowed` (or a package
    above one of those), or a forbidden library."""
    problems = set()
    for start in sorted(name for name in MODULES if _is_within(name, package)):
        for reached, chain in _reached(start).items():
            problems |= {" -> ".join([*chain, lib]) for lib in EXTERNAL[reached] if lib in forbidden_libraries}
            if not any(_is_within(reached, ok) or _is_within(ok, reached) for ok in (package, *allowed)):
                problems.add(" -> ".join(chain))
    return sorted(problems)


# The directions of dependency (issue 16): domain/ at the bottom, anything may import it; it imports none of these.
# dialogs/ decides: it reaches none of the service's I/O (HTTP, Redis, the engine, the store, the console,
# the channels), only the domain rules and these pure parts of bot/. Not bot.settings: the engine hands decisions
# the rules they read (dialogs/conversation.py DialogRules), never the settings with their secrets.
DIALOGS_MAY_REACH = ("domain", "bot.clock", "bot.i18n", "bot.messages")
# The mocks stand in for the outside world: they share the clock and the domain rules, nothing of the bot.
MOCKS_MAY_REACH = ("domain", "bot.clock")
# The domain rules (IIN, IBAN, phone, working days, quiet hours, masking, SMS length) need no project package.
DOMAIN_MAY_REACH: tuple[str, ...] = ()
# ... and of the libraries only the stdlib and these parsers and calendars.
DOMAIN_LIBRARIES = ("holidays", "phonenumbers", "schwifty")
IO_LIBRARIES = ("aiohttp", "redis", "fakeredis", "httpx", "telegram", "aiohttp_jinja2", "jinja2", "prometheus_client")


def test_dialogs_reach_no_io() -> None:
    problems = _outside("dialogs", DIALOGS_MAY_REACH, IO_LIBRARIES)
    assert not problems, "dialogs/ reaches what it must not (chain of imports):\n  " + "\n  ".join(problems)


def test_dialogs_reach_none_of_the_services_io_by_name() -> None:
    # The issue's list, spelled out: whatever DIALOGS_MAY_REACH becomes, these stay out.
    never = ("bot.http", "bot.engine", "bot.store", "bot.ops", "bot.channels", "bot.app")
    chains = {name: chain for start in MODULES if _is_within(start, "dialogs")
              for name, chain in _reached(start).items()}
    bad = [" -> ".join(chain) for name, chain in chains.items() if any(_is_within(name, n) for n in never)]
    bad += [" -> ".join([*chain, lib]) for chain in chains.values() for lib in EXTERNAL[chain[-1]]
            if lib in ("aiohttp", "redis")]
    assert not bad, "dialogs/ reaches the service's I/O:\n  " + "\n  ".join(sorted(bad))


def test_mocks_reach_only_the_clock_and_the_domain() -> None:
    problems = _outside("gateway_mocks", MOCKS_MAY_REACH, ("redis",))
    assert not problems, "gateway_mocks/ reaches what it must not (chain of imports):\n  " + "\n  ".join(problems)


def test_domain_rules_are_pure() -> None:
    problems = _outside("domain", DOMAIN_MAY_REACH, IO_LIBRARIES)
    assert not problems, "domain/ reaches what it must not (chain of imports):\n  " + "\n  ".join(problems)


def test_domain_imports_no_project_package_and_only_its_libraries() -> None:
    # Stricter than the test above, by name: no bot, dialogs or gateway_mocks module at all, and a new library in
    # domain/ is a decision to make here, not a side effect.
    bad = [f"{name} -> {target}  ({MODULES[name].path.relative_to(ROOT)}:{line})"
           for name in MODULES if _is_within(name, "domain")
           for target, line in GRAPH[name].items() if not _is_within(target, "domain")]
    bad += [f"{name} -> {lib}  ({MODULES[name].path.relative_to(ROOT)}:{line})"
            for name in MODULES if _is_within(name, "domain")
            for lib, line in EXTERNAL[name].items() if lib not in DOMAIN_LIBRARIES]
    assert not bad, "domain/ imports what it must not:\n  " + "\n  ".join(sorted(bad))
