"""Implementations of the widget panels; import them from :mod:`afmkit.widgets`."""
