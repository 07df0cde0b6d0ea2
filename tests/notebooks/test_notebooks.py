"""The notebook course: structure of every numbered notebook, and each one executed in quick mode.

* ``test_structure[NN_name]`` (fast): no committed outputs, the DESIGN §10 conventions (first cell
  markdown with "Learning goals" and "Estimated time", a ``parameters``-tagged cell using
  ``afmkit.course.quick_mode``, imports afmkit, ends with exercises whose solutions sit in
  ``<details>``), and every solution's code compiles. Code cells may follow the exercises (a
  clean-up cell that deletes the notebook's temporary files comes last, so that the solutions,
  run before it, still find them).
* ``test_series_complete_00_to_12`` (marked ``series``): all thirteen numbered notebooks exist.
* ``test_executes_in_quick_mode[NN_name]`` (marked ``slow``): runs the notebook top to bottom with
  nbclient in a fresh kernel (``AFMKIT_QUICK=1``, ``MPLBACKEND=Agg``, working directory
  ``notebooks/``), **with the code of every exercise solution** (the ```` ```python ```` blocks
  inside ``<details>`` of the exercises cells) inserted as code cells right after the cell that
  holds it, so a broken solution fails like a broken cell, in the same single run; a cell error
  fails with the cell's source and the error. Outputs are never written back. Each notebook's
  wall time is printed as it finishes (and how much of it the solutions took); the time of the
  notebook's own cells is saved to ``runs/notebook-times.json`` (git-ignored), the source of the
  quick-mode times in the notebooks' first cells.
  With ``AFMKIT_EXECUTED_DIR`` set (``make test`` sets ``build/executed``), the kernel draws
  figures inline, records the widget state, and each executed notebook is saved there without
  the solution cells (:mod:`book.executed`), for the course site (``make book``) to reuse.
* ``test_quick_mode_total_budget``: the notebooks executed in this session, solutions included,
  took less than :data:`TOTAL_BUDGET_S` together; prints the per-notebook table.

Run only some: ``pytest tests/notebooks/test_notebooks.py -k "08 or 09"``; ``-m "not slow"`` skips
running.
"""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
#: The numbered series: 00_tour … 12_your_own_experiment (DESIGN §1's 00 … 10, 07_cnn_basics,
#: and 12_your_own_experiment from issue 15).
EXPECTED_NUMBERS = [f"{k:02d}" for k in range(13)]
#: Seconds one cell may run in quick mode before the test fails.
CELL_TIMEOUT_S = 300
#: Quick-mode budget for all notebooks together on a 2-core CPU (15 min).
TOTAL_BUDGET_S = 15 * 60
#: Per-notebook quick-mode wall times of this session, solutions included, seconds.
TIMES: dict[str, float] = {}
#: The part of :data:`TIMES` that the exercise solutions took, seconds.
SOLUTION_TIMES: dict[str, float] = {}
#: Tag of the code cells the execution test adds for the exercise solutions.
SOLUTION_TAG = "exercise-solution"

_IDS = [p.stem for p in NOTEBOOKS]


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _sources(nb: nbformat.NotebookNode, cell_type: str | None = None) -> list[str]:
    return [c.source for c in nb.cells if cell_type is None or c.cell_type == cell_type]


_EXERCISES_HEADING = re.compile(r"^#+\s*exercises\b", re.IGNORECASE | re.MULTILINE)
_DETAILS = re.compile(r"<details>(.*?)</details>", re.DOTALL)
#: A ```python fence, alone on its line or after a list marker ("3. ```python"), up to its closing
#: fence; the block may be indented (inside a list item).
_PYTHON_BLOCK = re.compile(
    r"^[ \t]*(?:(?:\d+\.|[-*])[ \t]+)?```python[ \t]*\n(.*?)^[ \t]*```[ \t]*$",
    re.DOTALL | re.MULTILINE,
)


def _exercise_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indexes of the markdown cells from the "Exercises" heading to the end of the notebook."""
    start = next(
        (k for k, c in enumerate(nb.cells)
         if c.cell_type == "markdown" and _EXERCISES_HEADING.search(c.source)),
        None,
    )  # fmt: skip
    if start is None:
        return []
    return [k for k in range(start, len(nb.cells)) if nb.cells[k].cell_type == "markdown"]


def solution_blocks(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """The exercise solutions' Python code: ``(index of its markdown cell, code)``, in order.

    A solution is a ```` ```python ```` block inside ``<details>`` in a markdown cell at or after
    the "Exercises" heading; the block's indentation (inside a list item) is removed.
    """
    blocks = []
    for k in _exercise_cells(nb):
        for details in _DETAILS.findall(nb.cells[k].source):
            for match in _PYTHON_BLOCK.finditer(details):
                blocks.append((k, textwrap.dedent(match.group(1)).strip("\n")))
    return blocks


def with_solutions(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """A copy of ``nb`` with each solution as a code cell right after the cell that holds it.

    The added cells are tagged :data:`SOLUTION_TAG` and start with a comment naming their source
    cell, so a failure says which solution broke. Cells after the exercises (a clean-up cell)
    run after the solutions. Returns the notebook and the number of solutions added.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # a deep copy
    by_cell: dict[int, list[str]] = {}
    for k, code in solution_blocks(nb):
        by_cell.setdefault(k, []).append(code)
    cells = []
    for k, cell in enumerate(nb.cells):
        cells.append(cell)
        for n, code in enumerate(by_cell.get(k, []), start=1):
            cells.append(nbformat.v4.new_code_cell(
                f"# exercise solution {n} of markdown cell {k}, added by the notebook test\n{code}",
                metadata={"tags": [SOLUTION_TAG]},
            ))  # fmt: skip
    nb.cells = cells
    return nb, sum(len(v) for v in by_cell.values())


# ---------------------------------------------------------------------------------------------
# structure (fast)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_IDS)
def test_structure(path: Path) -> None:
    """DESIGN §10 conventions, and no outputs committed."""
    nb = _read(path)
    problems: list[str] = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            if cell.get("outputs"):
                problems.append(f"cell {k} has committed outputs")
            if cell.get("execution_count") is not None:
                problems.append(f"cell {k} has an execution count")
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        problems.append("the first cell is not markdown")
    else:
        first = nb.cells[0].source.lower()
        for phrase in ("learning goals", "estimated time"):
            if phrase not in first:
                problems.append(f"the first cell does not mention {phrase!r}")
    params = [
        c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])
    ]
    if not params:
        problems.append("no code cell tagged 'parameters'")
    elif "afmkit.course.quick_mode" not in params[0].source:
        problems.append("the 'parameters' cell does not call afmkit.course.quick_mode()")
    code = "\n".join(_sources(nb, "code"))
    if not re.search(r"^\s*(import afmkit|from afmkit)", code, re.MULTILINE):
        problems.append("no code cell imports afmkit")
    markdown = _sources(nb, "markdown")
    tail = "\n".join(markdown[-3:]).lower()
    if "summary" not in "\n".join(markdown).lower():
        problems.append("no Summary section")
    if "exercise" not in tail:
        problems.append("the notebook does not end with Exercises")
    if "<details>" not in tail:
        problems.append("the exercises have no folded solutions (<details>)")
    if not _exercise_cells(nb):
        problems.append("no markdown cell with an 'Exercises' heading")
    for k, code in solution_blocks(nb):
        try:
            compile(code, f"{path.name}, solution in cell {k}", "exec")
        except SyntaxError as err:
            problems.append(f"a solution in cell {k} does not compile: {err}")
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append("kernelspec is not python3")
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.series
def test_series_complete_00_to_12() -> None:
    """SERIES CHECK: notebooks 00 … 12 all exist (fails until every notebook is written)."""
    have = {p.name[:2] for p in NOTEBOOKS}
    missing = [n for n in EXPECTED_NUMBERS if n not in have]
    assert not missing, (
        f"numbered notebooks missing: {missing} (have {[p.name for p in NOTEBOOKS]})"
    )
    dupes = [n for n in EXPECTED_NUMBERS if sum(p.name[:2] == n for p in NOTEBOOKS) > 1]
    assert not dupes, f"more than one notebook numbered {dupes}"


# ---------------------------------------------------------------------------------------------
# execution in quick mode (slow)
# ---------------------------------------------------------------------------------------------
def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"AFMKIT_QUICK": "1", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"})
    if _executed_dir() is not None:  # executed copies for the course site: keep the figures
        env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    return env


def _error_message(path: Path, exc: Exception) -> str:
    from nbclient.exceptions import CellExecutionError

    if isinstance(exc, CellExecutionError):
        # nbclient's message already holds the cell source and the traceback
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # drop the traceback's colour codes
        return f"{path.name}: a cell failed in quick mode:\n{text}"
    return f"{path.name}: {type(exc).__name__}: {exc}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_IDS)
def test_executes_in_quick_mode(path: Path, capsys: pytest.CaptureFixture) -> None:
    """Run the notebook top to bottom in quick mode, exercise solutions included, once.

    Outputs stay in memory only.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb, n_solutions = with_solutions(_read(path))
    save_to = _executed_dir()
    if save_to is not None:
        from book.executed import snapshot_cell

        nb.cells.append(snapshot_cell())  # plotly widgets' figures into the widget state
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        allow_errors=False,
        record_timing=True,
        store_widget_state=save_to is not None,
    )
    start = time.perf_counter()
    try:
        # the kernel's environment: quick mode, headless matplotlib, this interpreter's tools first
        client.execute(cwd=str(NOTEBOOK_DIR), env=_kernel_env())
    except (CellExecutionError, CellTimeoutError) as exc:
        pytest.fail(_error_message(path, exc), pytrace=False)
    finally:
        TIMES[path.stem] = time.perf_counter() - start
        SOLUTION_TIMES[path.stem] = _tagged_seconds(nb, SOLUTION_TAG)
        _save_times(path.stem)
        with capsys.disabled():
            print(
                f"\n  [{path.stem}: {TIMES[path.stem]:.1f} s in quick mode, of which "
                f"{n_solutions} exercise solution(s) {SOLUTION_TIMES[path.stem]:.1f} s]",
                end="",
            )
    if save_to is not None:
        from book.executed import save_executed

        save_executed(nb, save_to / path.name, quick=True, tags=[SOLUTION_TAG])


def _executed_dir() -> Path | None:
    """Where to save executed copies for the course site (``AFMKIT_EXECUTED_DIR``), or None."""
    value = os.environ.get("AFMKIT_EXECUTED_DIR", "").strip()
    return Path(value) if value else None


def _tagged_seconds(nb: nbformat.NotebookNode, tag: str) -> float:
    """Seconds the executed cells tagged ``tag`` ran (nbclient's ``record_timing`` stamps)."""
    total = 0.0
    needed = {"iopub.status.busy", "iopub.status.idle"}
    for cell in nb.cells:
        stamps = cell.metadata.get("execution", {})
        if tag in cell.metadata.get("tags", []) and stamps.keys() >= needed:
            busy = datetime.fromisoformat(stamps["iopub.status.busy"])
            idle = datetime.fromisoformat(stamps["iopub.status.idle"])
            total += (idle - busy).total_seconds()
    return total


def _save_times(name: str) -> None:
    """Record the notebook's own cells' time (without the solutions) in runs/notebook-times.json."""
    out = ROOT / "runs" / "notebook-times.json"
    try:
        out.parent.mkdir(exist_ok=True)
        old = json.loads(out.read_text()) if out.is_file() else {}
        old[name] = round(TIMES[name] - SOLUTION_TIMES[name], 1)
        out.write_text(json.dumps(old, indent=1))
    except (OSError, ValueError):  # a record only; never fail a test over it
        pass


def test_quick_mode_total_budget(capsys: pytest.CaptureFixture) -> None:
    """All notebooks executed in this session, solutions included, took less than 15 minutes.

    Runs last in this module; skipped when no notebook was executed (e.g. ``-m "not slow"``).
    The total is for the notebooks executed in this session, so a partial run (``-k``) checks the
    partial sum.
    """
    if not TIMES:
        pytest.skip("no notebook executed in this session")
    total = sum(TIMES.values())
    table = ", ".join(
        f"{k} {v:.0f} s (solutions {SOLUTION_TIMES.get(k, 0.0):.0f} s)"
        for k, v in sorted(TIMES.items())
    )
    with capsys.disabled():
        print(f"\n  [notebooks in quick mode: {table}; total {total:.0f} s]", end="")
    assert total < TOTAL_BUDGET_S, f"quick mode took {total:.0f} s > {TOTAL_BUDGET_S} s: {table}"
