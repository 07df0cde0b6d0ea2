"""Draw afmkit's layers and the imports between them: docs/layers.svg and docs/layers.png.

Everything in the picture is measured from the code when the script runs: the modules of each
layer (one box per layer, the ground at the bottom) with their line counts, and one arrow per
pair of layers that import each other, labelled with the number of import edges (distinct pairs
of modules, module-level and lazy imports alike). Nothing is typed in by hand, so re-running the
script after a move redraws the picture; ``tests/test_architecture.py`` fails while the
committed picture names other modules, layers or arrows than the code has.

Usage::

    .venv/bin/python scripts/draw_layers.py              # writes docs/layers.svg, docs/layers.png
    .venv/bin/python scripts/draw_layers.py --out DIR    # writes DIR/layers.svg, DIR/layers.png

The output is deterministic (no dates or version strings in the files). In the SVG, text stays
text, and every module, layer and arrow carries an ``id`` (``module:afmkit.physics.simulator``,
``layer:physics``, ``imports:widgets:plotting``) that the test reads.
"""

from __future__ import annotations

import argparse
import ast
import io
import math
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "afmkit"

#: Layers from the ground up; a module may import its own layer and the ones below. The same
#: tuple as in tests/test_layers.py (tests/test_architecture.py checks that they are equal).
LAYERS = ("fileio", "structures", "physics", "targets", "learn", "experiments", "plotting",
          "widgets")  # fmt: skip
#: The faces, above every layer; ``cli`` may use ``course``, nothing imports ``cli``.
FACES = ("course", "cli")
#: Row name of the public re-export modules (``afmkit``, ``afmkit.molecules`` ...).
API = "api"
#: Rows from the top of the picture down.
ROWS = (*reversed(FACES), API, *reversed(LAYERS))

#: What each row is for, in a few words (the picture writes it beside the row's name).
JOBS = {
    "cli": "the afmkit command: demo, simulate, generate, train, match",
    "course": "quick mode and the environment report of the notebooks",
    API: "the documented names (afmkit.Molecule, afmkit.descriptors.* ...), re-exported; "
         "nothing inside the package imports them",
    "widgets": "the ipywidgets panels, one module per notebook topic",
    "plotting": "every figure (Matplotlib, plotly)",
    "experiments": "experimental data, pseudo-experiments, orientation matching",
    "learn": "augmentation, training data, CNNs, losses, metrics, training runs, weights",
    "targets": "learning targets: descriptors, xyz grid, viewing directions",
    "physics": "the Probe Particle Model: force field, relaxation, Δf, OpenCL, simulator",
    "structures": "molecules, .xyz I/O, the QM9 cache, elements, molecule sets",
    "fileio": "the cache folder, crash-safe writes",
}  # fmt: skip

PNG_DPI = 100
PNG_COLOURS = 256  # the PNG is stored with a palette: a third of the size, the same look


# --------------------------------------------------------------------------------------------
# Measuring the package
# --------------------------------------------------------------------------------------------


def module_name(path: Path) -> str:
    """Dotted name of a file under afmkit/ (``afmkit/physics/__init__.py`` → ``afmkit.physics``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    """Every .py file of the package, packages (``__init__.py``) included: name → path."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def describes_only(path: Path) -> bool:
    """True for a subpackage ``__init__.py`` that only describes its layer: a docstring,
    ``__all__`` and ``from __future__`` imports, no code of its own."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])  # fmt: skip
        if targets and all(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            continue
        return False
    return True


def listed_modules() -> dict[str, Path]:
    """The modules that the picture, README and ARCHITECTURE.md list: every .py file except a
    subpackage ``__init__.py`` that only describes its layer."""
    return {name: path for name, path in all_modules().items()
            if path.name != "__init__.py" or name == "afmkit"
            or not describes_only(path)}  # fmt: skip


def facade() -> tuple[str, ...]:
    """The public re-export modules: the package root and every top-level module that is
    neither a layer (``fileio``) nor a face."""
    top = [name for name in all_modules() if name.count(".") == 1]
    return ("afmkit", *sorted(m for m in top if m.split(".")[1] not in (*LAYERS, *FACES)))


def row_of(module: str, api: tuple[str, ...]) -> str:
    """The row (layer, face or ``api``) a package module belongs to."""
    return API if module in api else module.split(".")[1]


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package modules a file imports (module level and inside functions): ``from a import
    b`` gives ``a.b`` when that is a module of the package, else ``a``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in modules else target)
    return {t for t in found if t in modules and t != name}


def import_graph() -> dict[str, set[str]]:
    """Module → the package modules it imports."""
    modules = all_modules()
    return {name: imports_of(path, set(modules)) for name, path in modules.items()}


def row_edges(graph: dict[str, set[str]]) -> tuple[Counter, Counter]:
    """``(between, inside)``: import edges (distinct module pairs) counted per pair of rows
    ``(importer row, imported row)``, and per row for the edges inside one row."""
    api = facade()
    between: Counter = Counter()
    inside: Counter = Counter()
    for module, targets in graph.items():
        for target in targets:
            src, dst = row_of(module, api), row_of(target, api)
            if src == dst:
                inside[src] += 1
            else:
                between[src, dst] += 1
    return between, inside


def line_count(path: Path) -> int:
    """Lines of a file."""
    return len(path.read_text(encoding="utf-8").splitlines())


def measure() -> dict:
    """Everything the picture shows, measured from the code."""
    listed = listed_modules()
    api = facade()
    rows: dict[str, list[tuple[str, int]]] = {row: [] for row in ROWS}
    for name, path in listed.items():
        rows[row_of(name, api)].append((name, line_count(path)))
    for row in rows:
        rows[row].sort(key=lambda item: (-item[1], item[0]))
    between, inside = row_edges(import_graph())
    return {"rows": rows, "between": between, "inside": inside}


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------

WIDTH = 16.0  # inches
MARGIN = 0.3
ROW_H = 0.74  # a row's least height; rows with many arrows are taller
API_H = 0.46
SLOT = 0.115  # vertical distance between two arrows at a row's left edge
GAP = 0.3
LANE = 0.2
CHAR_W = 0.062  # width of one character of the cell font (7 pt), inches
FILL = {
    "fileio": "#1f3b5c", "structures": "#2c5282", "physics": "#2f6aa3", "targets": "#3f83b8",
    "learn": "#5a9bc9", "experiments": "#78b0d6", "plotting": "#98c4e2", "widgets": "#b8d8ec",
    "course": "#c9e4c5", "cli": "#a8d5a2", API: "#f3e6b3",
}  # fmt: skip
BUS_COLOURS = {
    "cli": "#2e7d32", "course": "#558b2f", API: "#b7950b", "widgets": "#8e44ad",
    "plotting": "#e67e22", "experiments": "#16a085", "learn": "#c0392b", "targets": "#1b6ca8",
    "physics": "#6d4c41", "structures": "#34495e", "fileio": "#000000",
}  # fmt: skip


def _dark(colour: str) -> bool:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b < 140


def _cell_label(module: str, row: str) -> str:
    """What a module's cell says: the file name, or the dotted name in the public API row."""
    if row == API:
        return module
    if module == f"afmkit.{row}" and (PACKAGE / row).is_dir():
        return "__init__.py"
    return module.rsplit(".", 1)[-1] + ".py"


def _cell_text(module: str, lines: int, row: str) -> str:
    """The longest line of a module's cell (the API row writes its line count beside the name)."""
    label = _cell_label(module, row)
    return f"{label}  {lines}" if row == API else label


def _row_title(row: str) -> str:
    if row == API:
        return "public API"
    return f"{row}/" if (PACKAGE / row).is_dir() else f"{row}.py"


def draw(out: Path) -> tuple[Path, Path]:
    """Measure the package and write ``out/layers.svg`` and ``out/layers.png``.

    Uses Matplotlib's object interface (no pyplot, no backend switch) inside an ``rc_context``,
    so calling it leaves the caller's Matplotlib state as it was.
    """
    import matplotlib

    style = {"svg.fonttype": "none", "svg.hashsalt": "afmkit-layers", "font.family": "sans-serif",
             "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"]}  # text stays text
    with matplotlib.rc_context(style):
        return _draw(out, measure())


def _draw(out: Path, data: dict) -> tuple[Path, Path]:
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch, Rectangle

    rows, between, inside = data["rows"], data["between"], data["inside"]
    index = {row: i for i, row in enumerate(ROWS)}
    edges = sorted(between, key=lambda e: (index[e[0]], index[e[1]]))
    upward = [e for e in edges if index[e[1]] < index[e[0]]]

    # Every row that imports others has a bus: a vertical line in the left gutter from which
    # one arrow branches into each row it imports. Higher rows get the outer lanes.
    sources = sorted({s for s, _ in edges}, key=lambda r: -index[r])
    lane_x0 = MARGIN + 0.2 + len(sources) * LANE
    x0 = lane_x0 + 0.25  # left edge of every box
    lane = {row: lane_x0 - k * LANE for k, row in enumerate(sources)}
    box_w_max = WIDTH - x0 - MARGIN

    # Slots at each row's left edge: incoming arrows (higher sources on top), then its own bus.
    slots: dict[str, list[str]] = {row: [] for row in ROWS}
    for src, dst in edges:
        slots[dst].append(src)
    for row in sources:
        slots[row].append(row)

    def row_height(row: str) -> float:
        return max(API_H if row == API else ROW_H, (len(slots[row]) + 1) * SLOT)

    title_h, foot_h = 0.95, 0.75
    height = title_h + sum(row_height(r) for r in ROWS) + GAP * (len(ROWS) - 1) + foot_h
    top: dict[str, float] = {}
    y = height - title_h
    for row in ROWS:
        top[row] = y
        y -= row_height(row) + GAP
    bottom = {row: top[row] - row_height(row) for row in ROWS}
    slot_y = {(row, src): top[row] - (k + 1) * (top[row] - bottom[row]) / (len(items) + 1)
              for row, items in slots.items() for k, src in enumerate(items)}  # fmt: skip

    # Widths: cells in proportion to lines (a name always fits), the largest row fills the width.
    total_lines = {row: sum(n for _, n in rows[row]) for row in ROWS}
    notes = {}
    for row in ROWS:
        kind = ("face" if row in FACES else "re-exports" if row == API
                else f"layer {LAYERS.index(row)}")  # fmt: skip
        notes[row] = f"{kind} · {total_lines[row]:,} lines"
        if inside[row]:
            notes[row] += f" · {inside[row]} imports inside"

    def header_width(row: str) -> float:
        return (len(_row_title(row)) * 0.09 + len(notes[row]) * 0.055
                + len(JOBS[row]) * 0.052 + 0.55)  # fmt: skip

    def cell_widths(row: str, scale: float) -> list[float]:
        return [max(len(_cell_text(m, n, row)) * CHAR_W + 0.14, n * scale) for m, n in rows[row]]

    lo, hi = 0.0, box_w_max / max(total_lines.values())
    for _ in range(40):
        mid = (lo + hi) / 2
        fits = all(sum(cell_widths(r, mid)) + 0.12 <= box_w_max for r in ROWS if rows[r])
        lo, hi = (mid, hi) if fits else (lo, mid)
    scale = lo

    fig = Figure(figsize=(WIDTH, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(0, height)
    ax.axis("off")

    n_modules = sum(len(v) for v in rows.values())
    direction = ("every arrow points down" if not upward
                 else f"{len(upward)} arrows point UP (red): {upward}")  # fmt: skip
    ax.text(MARGIN, height - 0.4, "afmkit: the layers and the imports between them",
            fontsize=15, fontweight="bold", va="baseline")  # fmt: skip
    ax.text(MARGIN, height - 0.7,
            f"{n_modules} modules, {sum(total_lines.values()):,} lines: {len(LAYERS)} layers "
            f"(ground at the bottom), the public API and {len(FACES)} faces on top. "
            f"{sum(between.values())} import edges between rows in {len(edges)} arrows, "
            f"{sum(inside.values())} inside rows; {direction}.",
            fontsize=9, color="#444444", va="baseline")  # fmt: skip

    for row in ROWS:
        fill = FILL[row]
        y_top, y_bot = top[row], bottom[row]
        widths = cell_widths(row, scale)
        w = box_w_max if row == API else max(sum(widths) + 0.12, header_width(row))
        box = FancyBboxPatch((x0, y_bot), w, y_top - y_bot, facecolor=fill, linewidth=1.0,
                             boxstyle="round,pad=0,rounding_size=0.04", edgecolor="#1a2a3a")
        ax.add_patch(box)
        dark = _dark(fill)
        ink = "white" if dark else "#111111"
        soft = "#dde8f2" if dark else "#333333"
        header_y = y_top - 0.18
        title = _row_title(row)
        ax.text(x0 + 0.08, header_y, title, fontsize=10, fontweight="bold", color=ink,
                va="baseline", gid=f"layer:{row}")  # fmt: skip
        ax.text(x0 + w - 0.08, header_y, notes[row], fontsize=7.5, color=soft, ha="right",
                va="baseline")  # fmt: skip
        job_x = x0 + 0.08 + len(title) * 0.09 + 0.15
        if x0 + w - 0.08 - len(notes[row]) * 0.055 - job_x > len(JOBS[row]) * 0.052:
            ax.text(job_x, header_y, JOBS[row], fontsize=7.5, color=soft, va="baseline",
                    style="italic")  # fmt: skip

        cx = x0 + 0.06
        cell_top, cell_bot = y_top - 0.26, y_bot + 0.06
        for (module, n), cw in zip(rows[row], widths, strict=True):
            ax.add_patch(Rectangle((cx, cell_bot), cw - 0.04, cell_top - cell_bot,
                                   facecolor="white", alpha=0.85, edgecolor="#1a2a3a",
                                   linewidth=0.4))  # fmt: skip
            label = _cell_label(module, row)
            if row == API:
                ax.text(cx + 0.05, (cell_top + cell_bot) / 2, _cell_text(module, n, row),
                        fontsize=7, va="center", color="#111111", gid=f"module:{module}")
            else:
                ax.text(cx + 0.05, cell_top - 0.15, label, fontsize=7, va="baseline",
                        color="#111111", gid=f"module:{module}")  # fmt: skip
                ax.text(cx + 0.05, cell_top - 0.31, f"{n} lines", fontsize=6.5,
                        va="baseline", color="#555555")  # fmt: skip
            cx += cw
        if not rows[row]:
            ax.text(x0 + 0.1, (cell_top + cell_bot) / 2, "(no module)", fontsize=7,
                    va="center", color=soft)  # fmt: skip

    # The buses and their arrows.
    for src in sources:
        colour = BUS_COLOURS.get(src, "#555555")
        style = (0, (4, 2)) if src == API else "-"
        targets = [d for s, d in edges if s == src]
        ys = [slot_y[src, src]] + [slot_y[d, src] for d in targets]
        x = lane[src]
        ax.plot([x0, x], [slot_y[src, src]] * 2, color=colour, lw=1.3, linestyle=style,
                solid_capstyle="butt")  # fmt: skip
        ax.plot([x0], [slot_y[src, src]], marker="o", ms=3.5, color=colour)
        ax.plot([x, x], [min(ys), max(ys)], color=colour, lw=1.3, linestyle=style,
                solid_capstyle="butt")  # fmt: skip
        for dst in targets:
            n = between[src, dst]
            bad = (src, dst) in upward
            c = "#e00000" if bad else colour
            y_dst = slot_y[dst, src]
            ax.annotate("", xy=(x0, y_dst), xytext=(x, y_dst),
                        arrowprops={"arrowstyle": "-|>,head_length=0.5,head_width=0.22",
                                    "color": c, "lw": 0.6 + 0.3 * math.sqrt(n),
                                    "linestyle": style, "shrinkA": 0, "shrinkB": 0})  # fmt: skip
            ax.text(x0 - 0.14, y_dst, str(n), fontsize=6.5, color=c, ha="center",
                    va="center", fontweight="bold", gid=f"imports:{src}:{dst}",
                    bbox={"boxstyle": "square,pad=0.12", "facecolor": "white",
                          "edgecolor": "none"})  # fmt: skip

    foot = (
        "A box is a row of the package: a layer (a folder of afmkit/, or fileio.py), the public "
        "re-export modules (afmkit.molecules ...), or a face (cli.py, course.py). A module may "
        "import its own layer and the ones below, never one above, and no module imports cli.\n"
        "Cells: the modules with their line counts, widths in proportion. Each row that imports "
        "others has a line in the left margin (dot = start) with one arrow into every row it "
        "imports; the number is how many distinct pairs of modules (importer, imported),\n"
        "module-level and lazy imports alike. Drawn by scripts/draw_layers.py from the code's "
        "own files and imports: `python scripts/draw_layers.py` redraws it after a move; "
        "tests/test_layers.py checks the rule, tests/test_architecture.py that this picture is "
        "current."
    )
    ax.text(MARGIN, 0.15, foot, fontsize=7.5, color="#444444", va="bottom", linespacing=1.6)

    out.mkdir(parents=True, exist_ok=True)
    svg, png = out / "layers.svg", out / "layers.png"
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PNG_DPI, metadata={"Software": None})
    _write_palette_png(buffer.getvalue(), png)
    return svg, png

def _write_palette_png(raw: bytes, path: Path) -> None:
    """Store a PNG with a palette of ``PNG_COLOURS`` colours (a fraction of the RGBA size)."""
    from PIL import Image

    with Image.open(io.BytesIO(raw)) as image:
        rgb = image.convert("RGB")
    rgb.quantize(colors=PNG_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
                 ).save(path, format="PNG", optimize=True)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs",
                        help="folder for layers.svg and layers.png (default: docs/)")  # fmt: skip
    args = parser.parse_args(argv)
    svg, png = draw(args.out)
    print(f"wrote {svg} ({svg.stat().st_size // 1024} KB) and {png} "
          f"({png.stat().st_size // 1024} KB)")  # fmt: skip


if __name__ == "__main__":
    main()
