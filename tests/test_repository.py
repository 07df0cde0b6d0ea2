"""The code base stays ruff-clean (rules in pyproject.toml)."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed (it is in the test extra: pip install -e '.[test]')")
    result = subprocess.run(
        [ruff, "check", "--no-cache", "afmkit", "tests", "benchmarks", "scripts", "book"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


GOOGLE_SECTION = re.compile(
    r"^\s+(Args|Arguments|Returns|Raises|Yields|Attributes|Example|Examples):\s*$"
)


def test_docstrings_are_numpy_style():
    """One docstring style: NumPy sections (``Parameters`` + dashes), never Google's ``Args:``."""
    bad = []
    for path in sorted((ROOT / "afmkit").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                     ast.AsyncFunctionDef)):  # fmt: skip
                continue
            doc = ast.get_docstring(node, clean=False) or ""
            for line in doc.splitlines():
                if GOOGLE_SECTION.match(line):
                    where = getattr(node, "name", "<module>")
                    bad.append(f"{path.relative_to(ROOT)}:{where}: {line.strip()}")
    assert not bad, "Google-style docstring sections (write NumPy style):\n" + "\n".join(bad)


def test_no_global_statements():
    """No module state changed through ``global`` (pass state explicitly or cache a function)."""
    bad = [f"{p.relative_to(ROOT)}:{n.lineno}"
           for p in sorted((ROOT / "afmkit").rglob("*.py"))
           for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
           if isinstance(n, ast.Global)]  # fmt: skip
    assert not bad, f"global statements: {bad}"


def test_tests_mirror_the_package():
    """``tests/<subpackage>/test_<module>[_topic].py`` names a module that exists."""
    orphans = []
    for path in sorted(ROOT.glob("tests/*/test_*.py")):
        folder = path.parent.name
        if folder == "notebooks":
            continue
        stem = path.stem.removeprefix("test_")
        package = ROOT / "afmkit" / folder
        if not package.is_dir():
            orphans.append(str(path.relative_to(ROOT)))
            continue
        names = {p.stem for p in package.glob("*.py")} | {p.name for p in package.iterdir()}
        if not any(stem == n or stem.startswith(f"{n}_") for n in names):
            orphans.append(str(path.relative_to(ROOT)))
    assert not orphans, f"test files that mirror no module: {orphans}"
