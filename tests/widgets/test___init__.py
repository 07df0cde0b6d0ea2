"""afmkit.widgets itself: the TOPICS table, lazy access, and old names that must keep working."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import afmkit.widgets as W

PACKAGE = Path(__file__).resolve().parents[2] / "afmkit"

#: Every name ``from afmkit.widgets import <name>`` served before the panels were split by
#: notebook topic (afmkit.widgets.panel_names() at the time); each must keep resolving.
OLD_NAMES = (
    "Debouncer", "PPM_MOLECULES", "PRESET_MOLECULES", "Panel", "PredictionSet", "TrainingMonitor",
    "array_png", "augmentation_panel", "augmentation_steps", "collect_predictions",
    "descriptor_panel", "dropdown", "example_molecule", "frequency_panel", "history_from_csv",
    "int_slider", "layer_table", "lj_panel", "load_molecule", "loss_figure", "matching_panel",
    "molecule_pdb", "molecule_picker_panel", "molecule_view", "plot_relaxation", "ppm_panel",
    "prediction_browser", "preview_stack", "relaxation_panel", "rotation_panel", "slider",
    "to_rdkit", "topview_traces", "training_monitor",
)  # fmt: skip


@pytest.mark.parametrize("topic", sorted(W.TOPICS))
def test_topics_table_equals_each_topic_modules_all(topic: str) -> None:
    module = W.topic_module(topic)
    assert module.__name__ == f"afmkit.widgets.{topic}"
    assert sorted(W.TOPICS[topic]) == sorted(module.__all__)
    assert len(set(module.__all__)) == len(module.__all__)


def test_topic_modules_are_the_files() -> None:
    helpers = {"__init__", "core", "previews"}
    files = {p.stem for p in (PACKAGE / "widgets").glob("*.py")} - helpers
    assert files == set(W.TOPICS)


def test_each_name_has_one_topic() -> None:
    seen: dict[str, str] = {}
    for topic, names in W.TOPICS.items():
        for name in names:
            assert name not in seen, f"{name} is in {seen[name]!r} and {topic!r}"
            seen[name] = topic


def test_every_old_name_still_resolves() -> None:
    assert set(OLD_NAMES) <= set(W.panel_names())
    for name in OLD_NAMES:
        assert getattr(W, name) is not None, name
    namespace: dict = {}
    exec("from afmkit.widgets import " + ", ".join(OLD_NAMES), namespace)
    assert namespace["ppm_panel"] is W.topic_module("physics").ppm_panel


def test_compatibility_names_point_at_their_homes() -> None:
    from afmkit.plotting.interactive import topview_traces
    from afmkit.plotting.physics import plot_relaxation
    from afmkit.plotting.training import loss_figure
    from afmkit.structures import catalogue
    from afmkit.widgets.previews import preview_stack

    assert W.plot_relaxation is plot_relaxation
    assert W.loss_figure is loss_figure
    assert W.topview_traces is topview_traces
    assert W.preview_stack is preview_stack
    assert W.example_molecule is catalogue.example_molecule
    assert W.load_molecule is catalogue.load_molecule
    assert W.PPM_MOLECULES is W.PRESET_MOLECULES is catalogue.CATALOGUE


def test_unknown_names_and_topics() -> None:
    with pytest.raises(AttributeError, match="panel_names"):
        W.no_such_panel  # noqa: B018
    with pytest.raises(KeyError, match="topics"):
        W.topic_module("structures")
    assert "TOPICS" in dir(W) and "ppm_panel" in dir(W)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_figures_are_drawn_in_plotting_only() -> None:
    """Widgets build no figures (no Matplotlib, no plotly subplots); plotting has no widgets."""
    for path in sorted((PACKAGE / "widgets").glob("*.py")):
        if path.stem == "core":  # PNG previews of arrays and ready-made figures
            continue
        bad = {m for m in _imports(path) if m.startswith(("matplotlib", "plotly.subplots"))}
        assert not bad, f"{path.name} draws figures itself: {sorted(bad)}"
    for path in sorted((PACKAGE / "plotting").glob("*.py")):
        bad = {m for m in _imports(path)
               if m.split(".")[0] == "ipywidgets" or m.startswith("afmkit.widgets")}  # fmt: skip
        assert not bad, f"{path.name} imports widgets: {sorted(bad)}"
