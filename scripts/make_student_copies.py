#!/usr/bin/env python3
"""Write student copies of the numbered course notebooks, without the folded solutions.

Every ``notebooks/NN_*.ipynb`` is copied to ``student/NN_*.ipynb`` (``--out``) with each
``<details>…</details>`` block of its markdown cells replaced by a one-line note, no outputs and no
execution counts. The exercises themselves stay. The output is deterministic (same input, same
bytes), so the copies are made again rather than committed: ``student/`` is git-ignored and
``make student`` runs this script. Only the standard library is used.

    python scripts/make_student_copies.py [--out student] [--source notebooks]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT / "notebooks"
DEFAULT_OUT = ROOT / "student"
#: The numbered series of the course (00_tour … 11_camphor_matching).
PATTERN = "[0-9][0-9]_*.ipynb"
#: What a folded solution becomes in a student copy.
NOTE = "*(Solution in the instructor copy.)*"
SOLUTION = re.compile(r"<details\b[^>]*>.*?</details\s*>", re.DOTALL | re.IGNORECASE)
LEFTOVER = re.compile(r"</?details\b", re.IGNORECASE)


class StudentCopyError(ValueError):
    """A notebook cannot be turned into a student copy, or the copy would go to a wrong place."""


def strip_solutions(text: str, where: str = "") -> str:
    """Replace every ``<details>…</details>`` block of one markdown text by :data:`NOTE`.

    An unbalanced tag (a ``<details>`` without its end, or the reverse) raises
    :class:`StudentCopyError` rather than leaking a solution; ``where`` names the cell.
    """
    stripped = SOLUTION.sub(NOTE, text)
    if LEFTOVER.search(stripped):
        raise StudentCopyError(f"{where}: unbalanced <details> tag; fix the notebook")
    return stripped


def student_notebook(notebook: dict, name: str = "") -> dict:
    """The student version of one notebook (parsed JSON); the input is left unchanged."""
    copy = json.loads(json.dumps(notebook))
    for k, cell in enumerate(copy.get("cells", [])):
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else source
            stripped = strip_solutions(text, f"{name} cell {k}")
            if stripped != text:
                cell["source"] = stripped.splitlines(keepends=True)
        elif cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell.get("metadata", {}).pop("execution", None)
    copy.get("metadata", {}).pop("widgets", None)  # saved widget state is an output too
    return copy


def dumps(notebook: dict) -> str:
    """Notebook JSON the way Jupyter (nbformat) writes it: indent 1, sorted keys, UTF-8."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def make_student_copies(out: Path | str = DEFAULT_OUT,
                        source: Path | str = DEFAULT_SOURCE) -> list[Path]:
    """Write one student copy per numbered notebook of ``source`` into ``out``.

    ``out`` must not be ``source`` or a folder inside it. Numbered notebooks already in ``out``
    that no longer exist in ``source`` are removed, so ``out`` mirrors the course.

    Returns
    -------
    list of Path
        The copies written, in course order.
    """
    source, out = Path(source).resolve(), Path(out).resolve()
    if _inside(out, source):
        raise StudentCopyError(
            f"refusing to write student copies into the source folder {source} (out: {out})"
        )
    notebooks = sorted(source.glob(PATTERN))
    if not notebooks:
        raise StudentCopyError(f"no numbered notebooks ({PATTERN}) in {source}")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        target = out / path.name
        target.write_text(dumps(student_notebook(notebook, path.name)), encoding="utf-8")
        written.append(target)
    names = {p.name for p in notebooks}
    for stale in sorted(out.glob(PATTERN)):
        if stale.name not in names:
            stale.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="folder for the copies (default: student/ in the repository)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="folder of the instructor notebooks (default: notebooks/)")
    args = parser.parse_args(argv)
    try:
        written = make_student_copies(args.out, args.source)
    except StudentCopyError as error:
        print(f"make_student_copies: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} student notebooks to {Path(args.out).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
