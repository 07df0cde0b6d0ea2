"""scripts/make_student_copies.py: student notebooks without the folded solutions (fast, no kernel).

The script is not part of the package, so this test sits at the top of ``tests/`` (the mirror rule
of ``test_repository.py`` covers ``tests/<subpackage>/``) and loads it from its path.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_student_copies.py"
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
DETAILS = re.compile(r"<details\b[^>]*>(.*?)</details\s*>", re.DOTALL | re.IGNORECASE)


def _load_script():
    spec = importlib.util.spec_from_file_location("make_student_copies", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


msc = _load_script()


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _digests() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in NOTEBOOKS}


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> tuple[Path, list[Path], dict[str, str]]:
    before = _digests()
    out = tmp_path_factory.mktemp("student")
    written = msc.make_student_copies(out)
    return out, written, before


def test_one_copy_per_notebook(copies):
    out, written, _ = copies
    assert NOTEBOOKS, "no numbered notebooks found"
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    assert sorted(p.name for p in out.iterdir()) == [p.name for p in NOTEBOOKS]


def test_no_solutions_left(copies):
    out, _, _ = copies
    problems = []
    for source in NOTEBOOKS:
        solutions = [m.group(1) for c in _cells(source) for m in DETAILS.finditer(_text(c))]
        assert solutions, f"{source.name} has no folded solutions to remove"
        markdown = [c for c in _cells(out / source.name) if c["cell_type"] == "markdown"]
        text = "\n".join(_text(c) for c in markdown)
        if re.search(r"</?details\b", text, re.IGNORECASE):
            problems.append(f"{source.name}: a <details> tag is left")
        for solution in solutions:
            body = re.sub(r"<summary>.*?</summary>", "", solution, flags=re.DOTALL).strip()
            # every line of real content (code and prose) of a solution is gone
            for line in body.splitlines():
                line = line.strip()
                if len(line) > 12 and line not in ("```python", "```") and line in text:
                    problems.append(f"{source.name}: solution line kept: {line[:60]!r}")
        assert text.count(msc.NOTE) == len(solutions), source.name
    assert not problems, "\n".join(problems)


def test_exercises_and_structure_stay(copies):
    out, _, _ = copies
    for source in NOTEBOOKS:
        cells, original = _cells(out / source.name), _cells(source)
        assert len(cells) == len(original), source.name
        assert [c["cell_type"] for c in cells] == [c["cell_type"] for c in original]
        first = _text(cells[0]).lower()
        assert "learning goals" in first and "estimated time" in first, source.name
        markdown = [_text(c) for c in cells if c["cell_type"] == "markdown"]
        assert "exercise" in "\n".join(markdown[-3:]).lower(), source.name
        # the exercise questions (markdown outside the solutions) are kept word for word
        for cell, orig in zip(cells, original, strict=True):
            if cell["cell_type"] == "markdown":
                assert _text(cell) == DETAILS.sub(msc.NOTE, _text(orig))
            else:
                assert _text(cell) == _text(orig)  # code cells unchanged


def test_no_outputs(copies):
    out, _, _ = copies
    for path in sorted(out.glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        assert "widgets" not in notebook["metadata"]
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


def test_source_notebooks_untouched_and_output_deterministic(copies, tmp_path):
    out, _, before = copies
    assert _digests() == before
    again = msc.make_student_copies(tmp_path / "again")
    for path in again:
        assert path.read_bytes() == (out / path.name).read_bytes(), path.name


def test_outputs_are_cleared_and_unbalanced_tags_refused():
    notebook = {
        "cells": [
            {"cell_type": "code", "execution_count": 3, "metadata": {},
             "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}],
             "source": "print('x')"},
            {"cell_type": "markdown", "metadata": {},
             "source": ["1. Q?\n", "\n", "<details><summary>Solution</summary>\n", "A.\n",
                        "</details>\n", "2. R?\n"]},
        ],
        "metadata": {"widgets": {"state": {}}},
    }
    copy = msc.student_notebook(notebook)
    assert copy["cells"][0]["outputs"] == [] and copy["cells"][0]["execution_count"] is None
    assert "".join(copy["cells"][1]["source"]) == f"1. Q?\n\n{msc.NOTE}\n2. R?\n"
    assert "widgets" not in copy["metadata"]
    assert notebook["cells"][0]["outputs"], "the input notebook was changed"
    with pytest.raises(msc.StudentCopyError, match="unbalanced"):
        msc.strip_solutions("<details><summary>Solution</summary>\nA.\n", "cell 1")


@pytest.mark.parametrize("out", ["notebooks", "notebooks/student"])
def test_refuses_to_write_into_the_source_folder(out):
    before = _digests()
    result = subprocess.run([sys.executable, str(SCRIPT), "--out", out], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "refusing" in result.stderr
    assert _digests() == before
    assert not (ROOT / "notebooks" / "student").exists()


def test_command_line_writes_copies_and_drops_stale_ones(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "99_renamed_away.ipynb").write_text("{}", encoding="utf-8")
    (tmp_path / "s" / "notes.md").write_text("kept", encoding="utf-8")
    result = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "s")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"wrote {len(NOTEBOOKS)} student notebooks" in result.stdout
    assert sorted(p.name for p in (tmp_path / "s").glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    assert (tmp_path / "s" / "notes.md").exists()
