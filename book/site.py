"""Build the course site: stage the sources, execute what has no fresh copy, run Sphinx.

``python -m book`` (``make book``) does, from the repository root:

1. for each ``notebooks/NN_*.ipynb``: take its executed copy from ``--executed``
   (``build/executed`` in quick mode, ``build/executed-full`` in full mode) when
   :func:`book.executed.is_fresh`, else execute it with nbclient (``AFMKIT_QUICK`` as asked,
   working directory ``notebooks/``) and save the copy there for next time;
2. stage the Sphinx sources in ``OUT/src``: ``book/index.md``, the syllabus
   (``notebooks/README.md`` as ``syllabus.md``) and each executed notebook with its widget and
   plotly outputs made static (:func:`book.static_outputs.static_notebook`); a staged file is
   only rewritten when its content changed, so Sphinx re-reads only what changed;
3. run Sphinx (``book/conf.py``, MyST-NB, no execution) into ``OUT/html``.

Open ``OUT/html/index.html``. Times of each step are printed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import nbformat

from book import executed as ex
from book.static_outputs import static_notebook

ROOT = Path(__file__).resolve().parents[1]
BOOK_DIR = ROOT / "book"
NOTEBOOK_DIR = ROOT / "notebooks"
#: Pages staged besides the notebooks: staged name → source.
EXTRA_PAGES = {"index.md": BOOK_DIR / "index.md", "syllabus.md": NOTEBOOK_DIR / "README.md"}


def course_notebooks(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The numbered notebooks, in course order.

    Parameters
    ----------
    folder
        The notebooks' folder.

    Returns
    -------
    list of Path
        ``NN_*.ipynb``, sorted.
    """
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def default_executed_dir(quick: bool) -> Path:
    """Where executed copies live: ``$AFMKIT_EXECUTED_DIR`` in quick mode if set, else build/.

    Parameters
    ----------
    quick
        Quick mode (``build/executed``) or full mode (``build/executed-full``).

    Returns
    -------
    Path
        The folder.
    """
    from_env = ex.executed_dir()
    if quick and from_env is not None:
        return from_env
    return ROOT / "build" / ("executed" if quick else "executed-full")


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def executed_notebooks(
    notebooks: list[Path], executed_dir: Path, quick: bool, timeout_s: int | None, log=print
) -> tuple[dict[Path, Path], list[str]]:
    """An executed copy of every notebook: the fresh ones reused, the others executed now.

    Parameters
    ----------
    notebooks
        Source notebooks.
    executed_dir
        Folder of the copies (created if missing).
    quick
        Quick or full mode.
    timeout_s
        Longest time one cell may run when executing, s (None: no limit).
    log
        Called with one line per notebook.

    Returns
    -------
    (dict, list)
        Source → its executed copy, and the names of the notebooks executed now.

    Raises
    ------
    RuntimeError
        When a notebook fails to execute (the message names it and holds the cell's error).
    """
    copies, executed_now = {}, []
    for source in notebooks:
        target = executed_dir / source.name
        if ex.is_fresh(target, source, quick):
            log(f"  {source.stem}: executed copy reused")
        else:
            start = time.perf_counter()
            try:
                nb = ex.execute(source, quick, timeout_s)
            except Exception as exc:  # nbclient's message holds the failing cell
                raise RuntimeError(f"{source.name} failed to execute:\n{exc}") from exc
            ex.save_executed(nb, target, quick)
            executed_now.append(source.stem)
            log(f"  {source.stem}: executed in {time.perf_counter() - start:.1f} s")
        copies[source] = target
    return copies, executed_now


def stage(copies: dict[Path, Path], src_dir: Path) -> dict[str, dict[str, int]]:
    """Write the Sphinx sources into ``src_dir``; remove notebooks no longer in the course.

    Parameters
    ----------
    copies
        Source notebook → executed copy (:func:`executed_notebooks`).
    src_dir
        The staging folder.

    Returns
    -------
    dict
        Notebook stem → the counts of :func:`book.static_outputs.static_notebook`.
    """
    src_dir.mkdir(parents=True, exist_ok=True)
    for name, source in EXTRA_PAGES.items():
        _write_if_changed(src_dir / name, source.read_bytes())
    counts = {}
    wanted = set()
    for source, copy in copies.items():
        nb, counts[source.stem] = static_notebook(nbformat.read(copy, as_version=4))
        wanted.add(source.name)
        _write_if_changed(src_dir / source.name, nbformat.writes(nb).encode())
    for old in src_dir.glob("[0-9][0-9]_*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    return counts


def sphinx_build(src_dir: Path, out_dir: Path, quiet: bool = True) -> int:
    """Run Sphinx's HTML builder on the staged sources with ``book/conf.py``.

    Parameters
    ----------
    src_dir
        The staged sources.
    out_dir
        Output root: HTML in ``out_dir/html``, pickled doctrees in ``out_dir/doctrees``.
    quiet
        Print only warnings and errors.

    Returns
    -------
    int
        Sphinx's exit status (0: success).
    """
    from sphinx.cmd.build import build_main

    args = ["-b", "html", "-c", str(BOOK_DIR), "-d", str(out_dir / "doctrees")]
    args += ["-q"] if quiet else []
    return build_main([*args, str(src_dir), str(out_dir / "html")])


def build(
    out_dir: Path,
    quick: bool = True,
    executed_dir: Path | None = None,
    timeout_s: int | None = 600,
    log=print,
) -> dict:
    """Build the whole site (see the module's description).

    Parameters
    ----------
    out_dir
        Output root: ``src/`` (staged sources), ``doctrees/``, ``html/``.
    quick
        Quick mode (the default) or full mode for the notebooks executed now.
    executed_dir
        Folder of executed copies (default :func:`default_executed_dir`).
    timeout_s
        Longest time one cell may run when executing, s (None: no limit).
    log
        Called with progress lines.

    Returns
    -------
    dict
        ``html`` (the HTML folder), ``executed`` (notebooks executed now), ``counts`` (per
        notebook, see :func:`stage`), ``seconds`` (``execute``, ``stage``, ``sphinx``, ``total``).

    Raises
    ------
    RuntimeError
        When a notebook fails or Sphinx fails.
    """
    out_dir = Path(out_dir)
    executed_dir = Path(executed_dir) if executed_dir else default_executed_dir(quick)
    t0 = time.perf_counter()
    mode = "quick" if quick else "full"
    log(f"executed notebooks ({mode} mode) in {executed_dir}:")
    copies, executed_now = executed_notebooks(
        course_notebooks(), executed_dir, quick, timeout_s, log
    )
    t1 = time.perf_counter()
    counts = stage(copies, out_dir / "src")
    t2 = time.perf_counter()
    log(f"Sphinx: {out_dir / 'src'} -> {out_dir / 'html'}")
    status = sphinx_build(out_dir / "src", out_dir)
    t3 = time.perf_counter()
    if status != 0:
        raise RuntimeError(f"Sphinx failed (exit status {status})")
    seconds = {"execute": t1 - t0, "stage": t2 - t1, "sphinx": t3 - t2, "total": t3 - t0}
    report = {
        "html": str(out_dir / "html"),
        "executed": executed_now,
        "counts": counts,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
    }
    (out_dir / "build-report.json").write_text(json.dumps(report, indent=1))
    log(
        f"site built in {seconds['total']:.0f} s (executing {seconds['execute']:.0f} s, "
        f"{len(executed_now)} notebook(s); staging {seconds['stage']:.0f} s; "
        f"Sphinx {seconds['sphinx']:.0f} s): open {out_dir / 'html' / 'index.html'}"
    )
    return report


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m book [--quick 0|1] [--executed DIR] [--out DIR]``.

    Parameters
    ----------
    argv
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 built, 1 a notebook or Sphinx failed.
    """
    parser = argparse.ArgumentParser(prog="python -m book", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", type=int, choices=(0, 1), default=1,
                        help="1: quick mode (default); 0: full mode (takes long)")  # fmt: skip
    parser.add_argument("--executed", type=Path, default=None,
                        help="folder of executed copies (default build/executed, "
                             "build/executed-full in full mode)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "book",
                        help="output root: src/, doctrees/, html/ (build/book)")  # fmt: skip
    parser.add_argument("--timeout", type=int, default=0,
                        help="seconds one cell may run (default 600 quick, none full)")  # fmt: skip
    parser.add_argument("--clean", action="store_true",
                        help="remove OUT first (the executed copies are kept)")  # fmt: skip
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    timeout_s = args.timeout or (600 if quick else None)
    if args.clean and args.out.exists():
        shutil.rmtree(args.out)
    try:
        build(args.out, quick=quick, executed_dir=args.executed, timeout_s=timeout_s)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
