"""The layers are folders, and imports flow one way (ARCHITECTURE.md).

Every ``import`` in the package is parsed (module level and inside functions alike, since a lazy
import runs just the same): no module imports a layer above its own, nothing imports the faces
(``cli``, ``course``) or the public re-export modules, and there is no import cycle between
modules, not even inside one layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "afmkit"

#: Layers from the ground up; a module may import its own layer and the ones below.
LAYERS = ("fileio", "structures", "physics", "targets", "learn", "experiments", "plotting",
          "widgets")  # fmt: skip
#: The faces, above every layer: ``course`` (quick mode, environment report) and ``cli``, which
#: may use ``course``; nothing imports ``cli``.
FACES = ("course", "cli")
#: Public re-export modules (the documented API ``afmkit.molecules`` ...) and the package root.
FACADE = ("afmkit", "afmkit.molecules", "afmkit.descriptors", "afmkit.rotations",
          "afmkit.augment", "afmkit.data", "afmkit.models", "afmkit.matching")  # fmt: skip
#: Third-party packages a layer must never import (it must run in a plain worker process).
FORBIDDEN = {
    "structures": ("keras", "tensorflow", "ipywidgets", "matplotlib", "plotly", "nglview"),
    "physics": ("keras", "tensorflow", "ipywidgets", "matplotlib", "plotly", "nglview"),
    "targets": ("keras", "tensorflow", "ipywidgets", "matplotlib", "plotly", "nglview"),
    "learn": ("ipywidgets", "matplotlib", "plotly", "nglview"),
    "experiments": ("ipywidgets", "matplotlib", "plotly", "nglview"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[str, int]]:
    """``(imported module, line)`` for every import in the file; ``from a import b`` gives
    ``a.b`` when that is a module of the package, else ``a``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in MODULES else target, node.lineno))
    return found


MODULE_PATHS = {module_name(p): p for p in PACKAGE.rglob("*.py")}
MODULES = set(MODULE_PATHS)


def layer_of(module: str) -> str | None:
    """The layer (or face) a package module belongs to; None for the facade."""
    if module in FACADE:
        return None
    top = module.split(".")[1]
    return top


def rank(layer: str | None) -> int:
    """Height of a layer; the faces stand above every layer, ``cli`` above ``course``."""
    order = (*LAYERS, *FACES)
    return order.index(layer) if layer in order else len(order)


def package_imports() -> dict[str, list[tuple[str, int]]]:
    graph = {}
    for module, path in MODULE_PATHS.items():
        graph[module] = [(t, line) for t, line in imports_of(path)
                         if t == "afmkit" or t.startswith("afmkit.")]  # fmt: skip
    return graph


def test_every_module_is_in_a_layer():
    unknown = [m for m in MODULES if m not in FACADE and layer_of(m) not in (*LAYERS, *FACES)]
    assert not unknown, f"modules outside every layer: {unknown} (see ARCHITECTURE.md)"


def upward_imports(graph: dict[str, list[tuple[str, int]]]) -> list[str]:
    """Every import in ``graph`` (module → [(imported module, line)]) that breaks the rule."""
    bad = []
    for module, targets in graph.items():
        if module in FACADE:
            continue
        layer = layer_of(module)
        for target, line in targets:
            if target in FACADE:
                if layer not in FACES or target != "afmkit":
                    bad.append(f"{module}:{line} imports the public re-export {target}")
                continue
            target_layer = layer_of(target)
            if target_layer in FACES and rank(target_layer) >= rank(layer):
                bad.append(f"{module}:{line} imports the face {target}")
            elif rank(target_layer) > rank(layer):
                bad.append(f"{module}:{line} ({layer}) imports {target} ({target_layer}), above it")
    return bad


def test_no_upward_import():
    bad = upward_imports(package_imports())
    assert not bad, "imports that run up the layers:\n" + "\n".join(bad)


def test_the_rule_catches_what_it_should():
    graph = {
        "afmkit.physics.simulator": [("afmkit.learn.models", 3), ("afmkit.fileio", 4)],
        "afmkit.learn.data": [("afmkit.molecules", 5), ("afmkit.cli", 6)],
        "afmkit.widgets.core": [("afmkit.plotting.figures", 7)],
        "afmkit.cli": [("afmkit.course", 8), ("afmkit", 9)],
    }
    assert upward_imports(graph) == [
        "afmkit.physics.simulator:3 (physics) imports afmkit.learn.models (learn), above it",
        "afmkit.learn.data:5 imports the public re-export afmkit.molecules",
        "afmkit.learn.data:6 imports the face afmkit.cli",
    ]


def test_the_parser_resolves_relative_and_module_imports():
    """``from . import elements`` and ``from afmkit.physics import opencl`` name modules."""
    molecules = dict(imports_of(PACKAGE / "structures" / "molecules.py"))
    assert "afmkit.structures.elements" in molecules
    simulator = dict(imports_of(PACKAGE / "physics" / "simulator.py"))
    assert "afmkit.physics.opencl" in simulator


def test_no_import_cycle():
    graph = {m: {t for t, _ in ts if t in MODULES and t != m}
             for m, ts in package_imports().items()}  # fmt: skip
    graph = {m: {t for t in ts if t not in FACADE} for m, ts in graph.items() if m not in FACADE}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" → ".join(path[path.index(nxt):] + [nxt]) if nxt in path
                              else f"{node} → {nxt}")  # fmt: skip
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_lower_layers_stay_light(layer):
    bad = []
    for module, path in MODULE_PATHS.items():
        if module in FACADE or layer_of(module) != layer:
            continue
        for target, line in imports_of(path):
            if target.split(".")[0] in FORBIDDEN[layer]:
                bad.append(f"{module}:{line} imports {target}")
    assert not bad, f"the {layer} layer must not import {FORBIDDEN[layer]}:\n" + "\n".join(bad)


def test_public_modules_declare_all():
    missing = [m for m, p in MODULE_PATHS.items()
               if "__all__" not in p.read_text(encoding="utf-8")]  # fmt: skip
    assert not missing, f"public modules without __all__: {sorted(missing)}"
