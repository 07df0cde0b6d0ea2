"""The architecture documents stay true: README's package table, ARCHITECTURE.md, docs/layers.svg.

Every module of the package is listed in the README's package table and in ARCHITECTURE.md, and
everything they name (modules, attributes, files) exists; the picture docs/layers.svg, drawn by
scripts/draw_layers.py, names the modules, layers and arrows that the code has now (a stale
picture fails: redraw it with ``python scripts/draw_layers.py``). Fast and offline.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from tests import test_layers as layer_rules

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
ARCHITECTURE = ROOT / "ARCHITECTURE.md"
SVG = ROOT / "docs" / "layers.svg"
PNG = ROOT / "docs" / "layers.png"
REDRAW = "run `python scripts/draw_layers.py` and commit docs/"


def _load_script():
    script = ROOT / "scripts" / "draw_layers.py"
    spec = importlib.util.spec_from_file_location("draw_layers", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


draw_layers = _load_script()
MODULES = draw_layers.all_modules()  # every .py file, packages included
LISTED = draw_layers.listed_modules()  # what the documents list


# --------------------------------------------------------------------------------------------
# What a document names, and whether it exists
# --------------------------------------------------------------------------------------------

DOTTED = re.compile(r"\bafmkit(?:\.(?:\w+|\*))+|\bafmkit\b(?![/\w-])")
PATH = re.compile(r"^(?:afmkit|tests|scripts|docs|notebooks|benchmarks|binder)/[\w./-]*$")


@cache
def top_level_names(module: str) -> frozenset[str]:
    """Names a module defines at its top level (and, with a lazy ``__getattr__``, the names
    it spells out in tuples and lists), plus its submodules."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    names = {m.rsplit(".", 1)[1] for m in MODULES if m.rpartition(".")[0] == module}
    lazy = False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            lazy = lazy or node.name == "__getattr__"
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    if lazy:  # the names it hands out are spelled in tuples or lists (``TOPICS``)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Tuple, ast.List)):
                strings = [e for e in node.elts if isinstance(e, ast.Constant)]
                names.update(e.value for e in strings if isinstance(e.value, str))
    return frozenset(names)


def resolve(dotted: str) -> str | None:
    """None when ``afmkit.a.b.c`` names a module, or an attribute of one, that exists; else why
    not."""
    parts = dotted.rstrip(".").split(".")
    for k in range(len(parts), 0, -1):
        module = ".".join(parts[:k])
        if module in MODULES:
            rest = parts[k:]
            if not rest or rest == ["*"]:
                return None
            if len(rest) == 1 and rest[0] in top_level_names(module):
                return None
            return f"{module} has no {'.'.join(rest)}"
    return "no such module"


def backticked(text: str) -> list[str]:
    """Every inline ``code`` span of a Markdown text (fenced blocks left out)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.findall(r"`([^`\n]+)`", text)


def broken_references(text: str) -> list[str]:
    """Dotted afmkit names and repository paths in the text's code spans that do not exist,
    and imports in its fenced Python blocks that would fail."""
    bad = []
    for span in backticked(text):
        for token in re.split(r"[\s(),]+", span):
            token = token.strip(".:;'\"")
            if PATH.match(token) and (token.endswith("/") or "." in token.rsplit("/", 1)[-1]):
                if "<" not in token and "*" not in token and not (ROOT / token).exists():
                    bad.append(f"{token}: no such file or folder")
        for name in DOTTED.findall(span):
            why = resolve(name)
            if why:
                bad.append(f"{name}: {why}")
    for block in re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("afmkit"):
                for alias in node.names:
                    why = resolve(f"{node.module}.{alias.name}")
                    if why:
                        bad.append(f"from {node.module} import {alias.name}: {why}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("afmkit") and resolve(alias.name):
                        bad.append(f"import {alias.name}: no such module")
    return bad


def mentioned_modules(text: str) -> set[str]:
    """Modules named in the text's code spans, as ``afmkit.a.b`` or as ``afmkit/a/b.py``."""
    found = set()
    for span in backticked(text):
        for name in DOTTED.findall(span):
            parts = name.split(".")
            found.update(".".join(parts[:k]) for k in range(1, len(parts) + 1))
        for path in re.findall(r"afmkit/[\w/]+\.py", span):
            found.add(draw_layers.module_name(ROOT / path))
    return found & set(MODULES)


def readme_package_section() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## What is in the package\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert match, "README.md has no section '## What is in the package'"
    return match.group(1)


def table_first_cells(section: str) -> list[str]:
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [line.split("|")[1] for line in rows[2:]]  # after the header and its underline


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_the_picture_and_the_layer_test_agree_on_the_layers():
    assert draw_layers.LAYERS == layer_rules.LAYERS
    assert draw_layers.FACES == layer_rules.FACES
    assert set(draw_layers.facade()) == set(layer_rules.FACADE)
    assert set(draw_layers.JOBS) == set(draw_layers.ROWS)


def test_readme_package_table_matches_the_folders():
    section = readme_package_section()
    assert "ARCHITECTURE.md" in section, "the package section should point to ARCHITECTURE.md"
    listed: set[str] = set()
    for cell in table_first_cells(section):
        for span in re.findall(r"`([^`]+)`", cell):
            listed.update(m for m in DOTTED.findall(span) if m in MODULES)
            listed.update(draw_layers.module_name(ROOT / p)
                          for p in re.findall(r"afmkit/[\w/]+\.py", span))  # fmt: skip
    missing = sorted(set(LISTED) - listed)
    assert not missing, f"modules missing from README's package table: {missing}"
    bad = broken_references(section)
    assert not bad, "README's package section names what does not exist:\n" + "\n".join(bad)


def test_readme_names_only_what_exists():
    """Paths, dotted names and Python imports anywhere in the README exist (after moves)."""
    bad = broken_references(README.read_text(encoding="utf-8"))
    assert not bad, "README.md names what does not exist:\n" + "\n".join(bad)


def test_architecture_md_matches_the_folders():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    missing = sorted(set(LISTED) - mentioned_modules(text))
    assert not missing, f"modules missing from ARCHITECTURE.md: {missing}"
    bad = broken_references(text)
    assert not bad, "ARCHITECTURE.md names what does not exist:\n" + "\n".join(bad)
    assert "docs/layers.svg" in text or "docs/layers.png" in text
    for layer in (*draw_layers.LAYERS, *draw_layers.FACES):
        assert re.search(rf"\b{layer}\b", text), f"ARCHITECTURE.md never names the layer {layer}"


def svg_ids(path: Path) -> dict[str, set[str]]:
    """The ids the script gives to modules, layers and arrows: kind → names."""
    ids: dict[str, set[str]] = {"module": set(), "layer": set(), "imports": set()}
    for kind, name in re.findall(r'id="(module|layer|imports):([^"]+)"',
                                 path.read_text(encoding="utf-8")):  # fmt: skip
        ids[kind].add(name)
    return ids


@pytest.fixture(scope="module")
def redrawn(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("layers")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "draw_layers.py"), "--out",
                             str(out)], cwd=ROOT, capture_output=True, text=True, env=env,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_the_script_draws_every_module_layer_and_arrow(redrawn):
    ids = svg_ids(redrawn / "layers.svg")
    assert ids["module"] == set(LISTED)
    assert ids["layer"] == set(draw_layers.ROWS)
    between, _ = draw_layers.row_edges(draw_layers.import_graph())
    assert ids["imports"] == {f"{s}:{d}" for s, d in between}
    assert (redrawn / "layers.png").stat().st_size <= 200_000


def test_the_script_is_deterministic(tmp_path):
    first, second = draw_layers.draw(tmp_path / "a"), draw_layers.draw(tmp_path / "b")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), f"{a.name} differs between two runs"


def test_the_committed_picture_is_current(redrawn):
    assert SVG.exists() and PNG.exists(), f"docs/layers.svg or .png is missing: {REDRAW}"
    committed, current = svg_ids(SVG), svg_ids(redrawn / "layers.svg")
    for kind in ("layer", "module", "imports"):
        gone, new = committed[kind] - current[kind], current[kind] - committed[kind]
        assert not gone and not new, (
            f"docs/layers.svg is stale ({kind}: drawn but gone {sorted(gone)}, "
            f"new {sorted(new)}): {REDRAW}"
        )
    text = SVG.read_text(encoding="utf-8")
    assert "<text" in text, "the SVG should keep its text as text (svg.fonttype = 'none')"
    assert "<dc:date>" not in text, "the SVG should carry no date (deterministic output)"
    assert PNG.stat().st_size <= 200_000, "docs/layers.png should stay under 200 KB"


def test_the_reference_checker_catches_what_it_should():
    text = (
        "`afmkit.physics.simulator.AFMSimulator`, `afmkit.Molecule`, `afmkit.descriptors.*`, "
        "`afmkit/physics/kernels/`, `afmkit.widgets.ppm_panel`, `tests/test_layers.py`,\n"
        "`afmkit/panels/`, `afmkit.physics.nothing`, `afmkit.spectroscopy`, `tests/test_gone.py`"
        "\n```python\nfrom afmkit.learn.data import AFMDataset\nfrom afmkit.plotting import x\n```"
    )
    assert broken_references(text) == [
        "afmkit/panels/: no such file or folder",
        "afmkit.physics.nothing: afmkit.physics has no nothing",
        "afmkit.spectroscopy: afmkit has no spectroscopy",
        "tests/test_gone.py: no such file or folder",
        "from afmkit.plotting import x: afmkit.plotting has no x",
    ]
