"""Widget panels for the notebook course (ipywidgets), one function per panel.

Every panel is an :class:`afmkit.panels.core.Panel`: ``display(panel)`` shows it, ``panel.set(...)``
moves its controls as a user would, ``panel.refresh()`` renders now. Sliders carry units in their
labels, update on release and are debounced; simulation previews use a reduced resolution and the
simulator's cached force field so one change re-renders in well under 0.5 s on two CPU cores.

The panels live in topic modules under :mod:`afmkit.panels` (physics, structures, training,
matching); this module is the one place notebooks import them from, e.g.
``from afmkit.widgets import ppm_panel``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from afmkit.panels.core import Debouncer, Panel, array_png, dropdown, int_slider, slider

#: Topic modules whose ``__all__`` names are served by this module.
PANEL_MODULES = (
    "afmkit.panels.physics",
    "afmkit.panels.structures",
    "afmkit.panels.training",
    "afmkit.panels.matching",
)

_CORE = ["Debouncer", "Panel", "array_png", "dropdown", "int_slider", "slider"]


def _iter_topic_modules() -> Iterator[Any]:
    """Import the topic modules one at a time (so asking for a physics panel does not import
    the training module and its TensorFlow)."""
    for name in PANEL_MODULES:
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency inside the module: say so
                raise


def _topic_modules() -> list[Any]:
    return list(_iter_topic_modules())


def __getattr__(name: str) -> Any:
    for module in _iter_topic_modules():
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    raise AttributeError(f"afmkit.widgets has no panel {name!r}; see afmkit.widgets.panel_names()")


def panel_names() -> list[str]:
    """Every public name this module offers (core helpers and all topic panels)."""
    names = list(_CORE)
    for module in _topic_modules():
        names.extend(getattr(module, "__all__", ()))
    return sorted(set(names))


def __dir__() -> list[str]:
    return panel_names() + ["PANEL_MODULES", "panel_names"]


__all__ = [
    "PANEL_MODULES",
    "Debouncer",
    "Panel",
    "array_png",
    "dropdown",
    "int_slider",
    "panel_names",
    "slider",
]
