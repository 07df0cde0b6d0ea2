"""Layer 7, widgets: the ipywidgets panels of the notebook course, one module per topic.

Every panel is an :class:`afmkit.widgets.core.Panel`: ``display(panel)`` shows it,
``panel.set(...)`` moves its controls as a user would, ``panel.refresh()`` renders now. Sliders
carry units in their labels, update on release and are debounced; simulation previews use a
reduced resolution and the simulator's cached force field, so one change re-renders in well
under 0.5 s on two CPU cores. The panels draw nothing themselves: their figures come from
:mod:`afmkit.plotting`, their example molecules from :mod:`afmkit.structures.catalogue`.

Topic modules (the keys of :data:`TOPICS`), one per notebook topic:

* :mod:`.physics` (notebooks 01–03): ``lj_panel``, ``ppm_panel``, ``relaxation_panel``,
  ``frequency_panel``, and ``lj_table_editor`` (the editable Lennard-Jones table).
* :mod:`.molecules` (04): ``molecule_picker_panel``, ``rotation_panel``, and ``molecule_view``
  (the nglview 3D view every notebook uses).
* :mod:`.descriptors` (05): ``descriptor_panel``.
* :mod:`.augmentation` (06): ``augmentation_panel``, ``augmentation_steps``.
* :mod:`.training` (08–10): ``training_monitor``, ``prediction_browser``, ``layer_table``, …
* :mod:`.trainer` (08–10): ``training_panel``, every training parameter with Train/Stop/resume.
* :mod:`.matching` (11): ``matching_panel`` (browse results) and ``match_search_panel`` (every
  search parameter, a Match button and the confidence of the result).
* :mod:`.experiments` (12): ``preparation_panel`` (every step that prepares your own measurement
  for the models) and ``slice_viewer``.

Helper modules: :mod:`.core` (the :class:`~afmkit.widgets.core.Panel`, sliders, PNG previews)
and :mod:`.previews` (the molecule drop-down, cached preview simulations).

Import a panel from its topic module (``from afmkit.widgets.physics import ppm_panel``) or from
this package (``from afmkit.widgets import ppm_panel``); the package imports a topic module only
when one of its names is asked for, so a physics panel never loads TensorFlow. A few names are
served here only for compatibility and live below: ``plot_relaxation`` and ``loss_figure``
(:mod:`afmkit.plotting`), ``topview_traces`` (:mod:`afmkit.plotting.interactive`),
``example_molecule``, ``load_molecule``, ``PPM_MOLECULES`` and ``PRESET_MOLECULES`` (both the
catalogue, :mod:`afmkit.structures.catalogue`), ``preview_stack`` (:mod:`.previews`).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from afmkit.widgets.core import (
    BackgroundJob,
    Debouncer,
    Panel,
    array_png,
    dropdown,
    int_slider,
    slider,
)

#: The public names of each topic module (its ``__all__``; a test keeps the two equal).
TOPICS: dict[str, tuple[str, ...]] = {
    "physics": (
        "LJTableEditor", "PPM_MOLECULES", "example_molecule", "frequency_panel", "lj_panel",
        "lj_table_editor", "plot_relaxation", "ppm_panel", "relaxation_panel",
    ),
    "molecules": (
        "load_molecule", "molecule_pdb", "molecule_picker_panel", "molecule_view",
        "preview_stack", "rotation_panel", "to_rdkit", "topview_traces",
    ),
    "descriptors": ("PRESET_MOLECULES", "descriptor_panel"),
    "augmentation": ("augmentation_panel", "augmentation_steps"),
    "training": (
        "PredictionSet", "TrainingMonitor", "collect_predictions", "history_from_csv",
        "layer_table", "loss_figure", "prediction_browser", "training_monitor",
    ),
    "trainer": ("TrainingPanel", "training_panel"),
    "matching": ("MatchSearchPanel", "match_search_panel", "matching_panel"),
    "experiments": ("PreparationPanel", "preparation_panel", "slice_viewer"),
}  # fmt: skip

_CORE = ("BackgroundJob", "Debouncer", "Panel", "array_png", "dropdown", "int_slider", "slider")


def topic_module(topic: str) -> ModuleType:
    """Import and return one topic module by name.

    Parameters
    ----------
    topic
        A key of :data:`TOPICS`, e.g. ``"physics"``.

    Returns
    -------
    types.ModuleType
        The module ``afmkit.widgets.<topic>``.

    Raises
    ------
    KeyError
        For an unknown topic.
    """
    if topic == "physics":
        from afmkit.widgets import physics as module
    elif topic == "molecules":
        from afmkit.widgets import molecules as module
    elif topic == "descriptors":
        from afmkit.widgets import descriptors as module
    elif topic == "augmentation":
        from afmkit.widgets import augmentation as module
    elif topic == "training":
        from afmkit.widgets import training as module
    elif topic == "trainer":
        from afmkit.widgets import trainer as module
    elif topic == "matching":
        from afmkit.widgets import matching as module
    elif topic == "experiments":
        from afmkit.widgets import experiments as module
    else:
        raise KeyError(f"no widget topic {topic!r}; topics: {sorted(TOPICS)}")
    return module


def __getattr__(name: str) -> Any:
    for topic, names in TOPICS.items():
        if name in names:
            return getattr(topic_module(topic), name)
    raise AttributeError(f"afmkit.widgets has no panel {name!r}; see afmkit.widgets.panel_names()")


def panel_names() -> list[str]:
    """Every public name this package offers (core helpers and all topic panels).

    Returns
    -------
    list of str
        The names, sorted.
    """
    names = set(_CORE)
    for topic_names in TOPICS.values():
        names.update(topic_names)
    return sorted(names)


def __dir__() -> list[str]:
    return panel_names() + ["TOPICS", "panel_names", "topic_module"]


__all__ = [
    "TOPICS",
    "BackgroundJob",
    "Debouncer",
    "Panel",
    "array_png",
    "dropdown",
    "int_slider",
    "panel_names",
    "slider",
    "topic_module",
]
