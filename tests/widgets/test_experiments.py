"""Panels of notebook 12 (afmkit.widgets.experiments): the preparation panel, the slice viewer."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.experiments.stack import ExperimentStack
from afmkit.physics.simulator import AFMSimulator, SimulationParams
from afmkit.structures.molecules import camphor
from afmkit.widgets.experiments import preparation_panel, slice_viewer


@pytest.fixture(scope="module")
def measured():
    params = SimulationParams(scan_size=(18.0, 18.0), pixels=(96, 96), n_slices=12)
    df = AFMSimulator(params)(camphor())
    rng = np.random.default_rng(0)
    pixel = 18.0 / 95
    return ExperimentStack(df + rng.normal(0, 0.02, df.shape), (pixel, pixel),
                           heights=np.arange(11, -1, -1) * 0.1, amplitude=0.5)  # fmt: skip


@pytest.mark.slow
def test_preparation_panel_follows_its_controls(measured):
    panel = preparation_panel(measured)
    panel.refresh()
    prepared = panel.prepared
    assert prepared is not None and prepared.X.shape == (128, 128, 10)
    assert prepared.shifts_px is not None and panel.drift_image.value[:4] == b"\x89PNG"
    assert "prepared 128 × 128 px × 10 slices" in panel.report.value
    first = panel.images["close"].value
    panel.set(drift=False, center_x=1.0, pad_mode="median")
    assert panel.prepared.shifts_px is None and panel.drift_image.layout.display == "none"
    assert panel.images["close"].value != first
    options = panel.options()
    assert options["center"] == pytest.approx((1.0, 0.0)) and options["pad_mode"] == "median"
    import inspect

    from afmkit.experiments.preparation import prepare_experiment

    keywords = set(inspect.signature(prepare_experiment).parameters) - {"stack", "params"}
    # n_keep is the models' input depth (10), not a choice; center is centre_x/centre_y
    assert keywords - {"n_keep", "center"} <= set(panel.controls), keywords - set(panel.controls)
    panel.set(drift=True, drift_max_shift=5.0, shift_method="fourier", drift_window=None)
    assert panel.prepared is not None and panel.options()["drift_max_shift"] == 5.0
    panel.set(normalize=False)
    assert abs(float(panel.prepared.X.std()) - 1.0) > 0.1  # Δf in Hz, not normalised
    assert panel.last_render_s < 10


@pytest.mark.slow
def test_preparation_panel_reports_what_cannot_be_prepared(measured):
    holes = measured.df.copy()
    holes[:, 40, :] = np.nan  # an aborted scan line in every slice
    panel = preparation_panel(measured.replace(df=holes))
    assert panel.controls["fill_nan"].value  # offered when NaNs are present
    panel.set(fill_nan=False)
    assert panel.prepared is None and "cannot prepare" in panel.report.value


def test_slice_viewer(measured):
    viewer = slice_viewer(measured.df, measured.heights)
    viewer.refresh()
    assert "0.00 Å above the closest" in viewer.outputs[1].value
    viewer.set(slice=0)
    assert "1.10 Å" in viewer.outputs[1].value
