"""The package's layering, read from the source with ast (every import, lazy ones inside
functions included): no import cycles among cleartune modules; the dependency direction
bench -> quantize -> train -> edge and firmware_bridge -> edge; what the Pi installs
(edge/, firmware_bridge/) never imports TensorFlow, Keras or matplotlib and holds no
module that only tests, training or benchmarks use."""
from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Iterable, Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Top-level names the edge side must never import.
HEAVY = ("tensorflow", "keras", "matplotlib")
#: Which other layers each layer may import (top-level modules such as cleartune.provenance: any).
MAY_IMPORT = {
    "edge": set(),
    "firmware_bridge": {"edge"},
    "train": {"edge"},
    "quantize": {"edge", "train"},
    "bench": {"edge", "firmware_bridge", "train", "quantize"},
}


def package_dirs() -> dict[str, Path]:
    """``{package: folder}`` as pyproject.toml maps them (``cleartune.edge`` -> ``edge/``)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = cfg.get("package-dir", {})
    return {pkg: ROOT / dirs.get(pkg, pkg.replace(".", "/")) for pkg in cfg["packages"]}


def modules() -> dict[str, Path]:
    """``{module name: file}`` of every module of the installed package."""
    out = {}
    for pkg, folder in package_dirs().items():
        for f in sorted(folder.glob("*.py")):
            out[pkg if f.stem == "__init__" else f"{pkg}.{f.stem}"] = f
    return out


def imports_of(name: str, path: Path, known: Iterable[str]) -> list[tuple[str, int]]:
    """``(imported name, line)`` for every import in ``path`` (any depth), relative ones
    resolved; ``from P import M`` names the module ``P.M`` when that is a module."""
    known = set(known)
    is_pkg = path.stem == "__init__"
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = name.split(".") if is_pkg else name.split(".")[:-1]
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            for a in node.names:
                sub = f"{mod}.{a.name}"
                out.append((sub if sub in known else mod, node.lineno))
    return out


def _owner(imported: str, known: set[str]) -> Optional[str]:
    """The cleartune module an import loads (the longest known prefix), or None."""
    parts = imported.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in known:
            return ".".join(parts[:i])
    return None


def import_graph() -> dict[str, set[str]]:
    """``{module: cleartune modules it imports}``."""
    mods = modules()
    known = set(mods)
    graph = {}
    for name, path in mods.items():
        deps = {_owner(imp, known) for imp, _ in imports_of(name, path, known)}
        graph[name] = {d for d in deps if d is not None and d != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> Optional[list[str]]:
    """One import cycle ``[a, b, ..., a]``, or None when the graph is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(n: str) -> Optional[list[str]]:
        state[n] = 1
        path.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        path.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_the_graph_sees_every_module_and_lazy_imports():
    graph = import_graph()
    assert {"cleartune.cli", "cleartune.edge.pipeline", "cleartune.firmware_bridge.cli_run",
            "cleartune.train.data.build", "cleartune.bench.soak"} <= set(graph)
    # outputs imports its sinks lazily (inside make_output): those edges count
    assert {"cleartune.firmware_bridge.serial_out", "cleartune.firmware_bridge.sink"} <= \
        graph["cleartune.firmware_bridge.outputs"]
    assert "cleartune.bench.soak_audio" in graph["cleartune.bench.memory"]  # a lazy import too


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("pkg", ["cleartune.edge", "cleartune.firmware_bridge"])
def test_edge_side_imports_no_heavy_modules(pkg):
    mods = modules()
    bad = []
    for name, path in mods.items():
        if name != pkg and not name.startswith(pkg + "."):
            continue
        for imp, line in imports_of(name, path, mods):
            if imp.split(".")[0] in HEAVY:
                bad.append(f"{path.relative_to(ROOT)}:{line}: {imp}")
    assert not bad, "the Pi's side imports: " + "; ".join(bad)


def _layer(module: str) -> Optional[str]:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in MAY_IMPORT) else None


def test_dependency_direction():
    bad = []
    for a, deps in import_graph().items():
        la = _layer(a)
        for b in deps:
            lb = _layer(b)
            if la is not None and lb is not None and lb != la and lb not in MAY_IMPORT[la]:
                bad.append(f"{a} -> {b}")
    assert not bad, "imports against bench -> quantize -> train -> edge, firmware_bridge -> edge: " + "; ".join(bad)


#: What the Pi runs: the CLI and the subcommands that run there.
RUNTIME_ENTRY = ("cleartune.cli", "cleartune.edge.cli_analyze", "cleartune.firmware_bridge.cli_run",
                 "cleartune.firmware_bridge.cli_service")


def test_every_edge_module_is_part_of_the_runtime():
    """No module in edge/ or firmware_bridge/ exists only for tests, training or benchmarks:
    each is imported (directly or not) by a runtime entry point."""
    graph = import_graph()
    reached, todo = set(), list(RUNTIME_ENTRY)
    while todo:
        n = todo.pop()
        if n not in reached:
            reached.add(n)
            todo += graph.get(n, ())
    pkgs = ("cleartune.edge", "cleartune.firmware_bridge")
    unused = sorted(m for m in graph if m.startswith(tuple(p + "." for p in pkgs)) and m not in reached)
    assert not unused, "not used by the runtime (move to tests/, train/ or bench/): " + ", ".join(unused)
