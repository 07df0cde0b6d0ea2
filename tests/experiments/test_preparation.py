"""Preparing measured stacks for the models (afmkit.experiments.preparation)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from scipy import ndimage

from afmkit.experiments import matching
from afmkit.experiments.preparation import (
    PreparationWarning,
    apply_shifts,
    estimate_drift,
    model_heights,
    prepare_experiment,
    register_images,
    remove_background,
)
from afmkit.experiments.pseudo import Artefacts, add_experiment_artefacts
from afmkit.experiments.stack import ExperimentStack
from afmkit.learn.augment import default_height_indices, preprocess
from afmkit.physics.simulator import AFMSimulator, SimulationParams
from afmkit.structures.molecules import camphor
from tests.conftest import benzene

MODEL = SimulationParams()
#: The pseudo-experiments' artefacts without their own drift (the tests add a known one).
NO_DRIFT = Artefacts(drift_px=0.0)
#: Only white noise, line offsets and a background plane, at the pseudo-experiments' strengths.
PLAIN = Artefacts(drift_px=0.0, correlated_noise=0.0, streaks=0.0, noise=0.08)


def simulate(mol, scan_size=(16.0, 16.0), pixels=(128, 128), n_slices=20) -> np.ndarray:
    """(nx, ny, n_slices) Δf, Hz, window centred on the molecule, 0.1 Å between slices."""
    params = MODEL.replace(scan_size=scan_size, pixels=pixels, n_slices=n_slices)
    return AFMSimulator(params)(mol).astype(np.float64)


def as_stack(df, scan_size=(16.0, 16.0), **kwargs) -> ExperimentStack:
    """An ExperimentStack of a simulated stack: pitch from the window, heights 0.1 Å apart."""
    nx, ny, nz = df.shape
    kwargs.setdefault("heights", np.arange(nz - 1, -1, -1) * 0.1)
    kwargs.setdefault("amplitude", 0.5)
    pitch = (scan_size[0] / (nx - 1), scan_size[1] / (ny - 1))
    return ExperimentStack(df, pitch, **kwargs)


def random_walk(rng, n, sigma=0.6) -> np.ndarray:
    """(n, 2) drift of each slice, px, the closest (last) slice at 0 (as pseudo.drift)."""
    steps = rng.normal(0.0, sigma, size=(n, 2))
    steps[-1] = 0.0
    return np.cumsum(steps[::-1], axis=0)[::-1]


@pytest.fixture(scope="module")
def camphor20():
    return simulate(camphor())


@pytest.fixture(scope="module")
def benzene_small():
    return simulate(benzene(), scan_size=(12.0, 12.0), pixels=(64, 64), n_slices=12)


def quiet(**kwargs):
    """prepare_experiment with its warnings collected instead of shown."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreparationWarning)
        return prepare_experiment(**kwargs)


# ----------------------------------------------------------------------------------- drift
def test_register_images_finds_a_sub_pixel_shift(camphor20):
    rng = np.random.default_rng(0)
    ref = camphor20[:, :, -1]
    moved = ndimage.shift(ref, (1.3, -0.7), order=3, mode="nearest")
    noise = 0.05 * ref.std()
    shift, peak = register_images(ref + rng.normal(0, noise, ref.shape),
                                  moved + rng.normal(0, noise, ref.shape))  # fmt: skip
    np.testing.assert_allclose(shift, (1.3, -0.7), atol=0.06)
    assert 0.5 < peak <= 1.0
    for options in (dict(window="hann", whiten=1.0), dict(window=None, highpass=None)):
        np.testing.assert_allclose(register_images(ref, moved, **options)[0], (1.3, -0.7),
                                   atol=0.1)  # fmt: skip
    assert np.all(register_images(ref, moved, upsample=1)[0] == (1.0, -1.0))
    with pytest.raises(ValueError, match="same shape"):
        register_images(ref, ref[:10])


def test_drift_recovered_on_a_small_noisy_stack(benzene_small):
    """Planar benzene has no apparent shift between heights, so the truth is the added drift."""
    rng = np.random.default_rng(1)
    worst = 0.0
    for _ in range(3):
        true = random_walk(rng, benzene_small.shape[2])
        noisy = add_experiment_artefacts(apply_shifts(benzene_small, true), rng, PLAIN)
        est = estimate_drift(noisy)
        assert est.shape == (benzene_small.shape[2], 2) and np.all(est[-1] == 0)
        worst = max(worst, float(np.abs(est - true).max()))
    assert worst <= 0.3, f"drift error {worst:.2f} px"


def test_drift_recovered_on_a_full_camphor_stack(camphor20):
    """128 × 128 × 10 at the model's heights; error against the drift-free stack's estimate.

    Camphor is not flat: its features move with height even without drift (the estimate on
    the clean stack), so the added drift is what must be recovered.
    """
    clean = camphor20[:, :, default_height_indices(20)]
    baseline = estimate_drift(clean)
    assert np.abs(baseline).max() < 1.0  # the apparent shift of a 3-D molecule, ≈ 0.1 Å
    rng = np.random.default_rng(2)
    true = random_walk(rng, 10)
    drifted = apply_shifts(clean, true)
    white = add_experiment_artefacts(drifted, rng, PLAIN)
    assert np.abs(estimate_drift(white) - baseline - true).max() <= 0.3
    # all the pseudo-experiments' artefacts: the correlated noise spoils the far slices most
    spoiled = add_experiment_artefacts(drifted, rng, NO_DRIFT)
    error = np.abs(estimate_drift(spoiled) - baseline - true).max(axis=1)
    assert error[-4:].max() <= 0.3 and error.max() <= 1.0, error.round(2)
    # the closest slice as the only reference fails on the far slices (contrast inversion)
    direct = estimate_drift(white, reference="closest") - baseline - true
    assert np.abs(direct).max() > 1.0


def test_apply_shifts_round_trip_and_fourier(benzene_small, camphor20):
    rng = np.random.default_rng(3)
    shifts = rng.uniform(-2, 2, size=(20, 2))
    back = apply_shifts(apply_shifts(camphor20, shifts), -shifts)
    error = np.abs(back - camphor20)[8:-8, 8:-8] / camphor20.std(axis=(0, 1))
    assert error.max() < 0.1 and error.mean() < 1e-3  # two cubic-spline shifts at 0.126 Å/px
    whole = np.tile([[3.0, -2.0]], (benzene_small.shape[2], 1))
    rolled = np.roll(benzene_small, (3, -2), axis=(0, 1))
    np.testing.assert_allclose(apply_shifts(benzene_small, whole, method="fourier"), rolled,
                               atol=1e-9)  # fmt: skip
    with pytest.raises(ValueError, match="shifts must be"):
        apply_shifts(benzene_small, shifts[:2])


def test_prepare_corrects_the_drift_and_reports_it(benzene_small):
    rng = np.random.default_rng(4)
    # a milder walk than above: a far slice 4–5 px off in a 64 px window (this seed at 0.6 px
    # per slice) is recovered only to ≈ 0.5 px, the edges filled in by the shift weigh in
    true = random_walk(rng, benzene_small.shape[2], sigma=0.4)
    noisy = add_experiment_artefacts(apply_shifts(benzene_small, true), rng, PLAIN)
    stack = as_stack(noisy, (12.0, 12.0))
    plain = quiet(stack=stack, drift=False, resample=False, select_slices=False)
    fixed = quiet(stack=stack, resample=False, select_slices=False)
    assert plain.shifts_px is None and fixed.shifts_px.shape == (12, 2)
    assert np.abs(fixed.shifts_px - true).max() <= 0.3
    np.testing.assert_allclose(fixed.shifts_angstrom, fixed.shifts_px * stack.pixel_size)
    # aligned: the far slices now sit on the clean stack
    inner = (slice(10, -10), slice(10, -10), 0)
    before = np.abs(plain.df - benzene_small)[inner].mean()
    after = np.abs(fixed.df - benzene_small)[inner].mean()
    assert after < 0.5 * before


# --------------------------------------------------------------------------- the geometry
@pytest.mark.parametrize(
    "scan_size, pixels, warning",
    [((20.0, 20.0), (201, 201), "cropped"),  # 0.1 Å/px, a larger window
     ((14.0, 14.0), (71, 71), "padded")],  # 0.2 Å/px, a smaller window
)  # fmt: skip
def test_round_trip_through_another_pixel_size(camphor20, scan_size, pixels, warning):
    """A stack simulated at another pitch and window, prepared, is the simulator's 128 × 128."""
    other = simulate(camphor(), scan_size, pixels)
    with pytest.warns(PreparationWarning, match=warning):
        prepared = prepare_experiment(as_stack(other, scan_size), drift=False)
    reference = camphor20[:, :, default_height_indices(20)]
    assert prepared.df.shape == (128, 128, 10) and prepared.X.dtype == np.float32
    np.testing.assert_allclose(prepared.heights, model_heights())
    np.testing.assert_allclose(prepared.pixel_size, (16 / 127, 16 / 127))
    # relative to each slice's std; the simulator itself differs by up to 6 % in the closest
    # slices between two windows at the very same pixel positions, and the spline misses the
    # sharpest repulsive spikes in a few pixels, so the typical and the 99th-percentile error
    error = (np.abs(prepared.df - reference) / reference.std(axis=(0, 1)))[8:-8, 8:-8]
    assert error.mean(axis=(0, 1)).max() < 0.005, error.mean(axis=(0, 1)).round(4)
    assert np.percentile(error, 99, axis=(0, 1)).max() < 0.03


def test_crop_and_pad_warnings_and_pad_modes(camphor20):
    exact = as_stack(camphor20)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PreparationWarning)
        prepared = prepare_experiment(exact, drift=False)
    assert prepared.warnings == [] and prepared.step("resample").get("padded_fraction") is None
    np.testing.assert_array_equal(prepared.df, camphor20[:, :, default_height_indices(20)])
    small = as_stack(camphor20[32:96, 32:96], (64 * 16 / 127 - 16 / 127,) * 2)
    for mode in ("nearest", "reflect", "mirror", "median"):
        with pytest.warns(PreparationWarning, match="padded"):
            out = prepare_experiment(small, drift=False, pad_mode=mode)
        assert np.isfinite(out.df).all()
        np.testing.assert_allclose(out.df[32:96, 32:96], camphor20[32:96, 32:96][
            :, :, default_height_indices(20)], atol=1e-4)  # fmt: skip
        assert out.step("resample")["padded_fraction"] == pytest.approx(0.75, abs=0.02)
    median = quiet(stack=small, drift=False, pad_mode="median")
    assert median.df[0, 0, -1] == pytest.approx(np.median(camphor20[32:96, 32:96, -1]))
    with pytest.raises(ValueError, match="pad_mode"):
        prepare_experiment(small, pad_mode="wrap")


def test_rotation_by_90_degrees_is_rot90():
    rng = np.random.default_rng(5)
    df = ndimage.gaussian_filter(rng.normal(size=(128, 128, 10)), (3, 3, 0))
    for angle, k in ((90.0, 1), (-90.0, -1), (180.0, 2)):
        stack = as_stack(df, scan_angle=angle, heights=model_heights())
        for resample in (True, False):
            out = prepare_experiment(stack, drift=False, resample=resample)
            np.testing.assert_allclose(out.df, np.rot90(df, k, axes=(0, 1)), atol=1e-5)
            assert out.step("rotate")["applied"]
        unturned = prepare_experiment(stack, drift=False, rotate=False)
        np.testing.assert_allclose(unturned.df, df, atol=1e-6)
        assert not unturned.step("rotate")["applied"]


def test_rotation_is_about_the_window_and_centre_moves_it(camphor20):
    """30° turns the image about its centre; ``center`` moves the window in the instrument
    frame (here 1 Å along the scan frame's x turned by 30°)."""
    df = camphor20[:, :, -10:]
    turned = quiet(stack=as_stack(df, scan_angle=30.0, heights=model_heights()), drift=False)
    expected = ndimage.rotate(df[:, :, -1], 30.0, axes=(1, 0), reshape=False, order=3)
    inner = slice(30, -30)
    np.testing.assert_allclose(turned.df[inner, inner, -1], expected[inner, inner],
                               atol=0.02 * df[:, :, -1].std())  # fmt: skip
    a = np.radians(30.0)
    moved = quiet(stack=as_stack(df, scan_angle=30.0, heights=model_heights()), drift=False,
                  rotate=False, center=(np.cos(a) * 1.0, np.sin(a) * 1.0))  # fmt: skip
    step = 127 / 16  # px per Å
    np.testing.assert_allclose(moved.df[inner, inner, -1],
                               ndimage.shift(df[:, :, -1], (-step, 0), order=3)[inner, inner],
                               atol=1e-3 * df.std())  # fmt: skip


# ------------------------------------------------------------------------------- the rest
def test_normalisation_is_preprocess(camphor20):
    prepared = prepare_experiment(as_stack(camphor20), drift=False)
    np.testing.assert_array_equal(prepared.X, preprocess(prepared.df[None])[0])
    np.testing.assert_allclose(prepared.X, preprocess(camphor20[None].astype(np.float32))[0],
                               atol=1e-6)  # fmt: skip
    raw = prepare_experiment(as_stack(camphor20), drift=False, normalize=False)
    np.testing.assert_array_equal(raw.X, raw.df)
    assert not raw.step("normalize")["applied"]


def test_every_step_can_be_switched_off(benzene_small):
    stack = as_stack(benzene_small, (12.0, 12.0), scan_angle=30.0)
    with pytest.warns(PreparationWarning, match="resampling is off"):
        out = prepare_experiment(stack, drift=False, rotate=False, resample=False,
                                 select_slices=False, normalize=False)  # fmt: skip
    np.testing.assert_allclose(out.df, benzene_small.astype(np.float32))
    assert out.shifts_px is None and out.X.shape == (64, 64, 12)
    assert [s["name"] for s in out.steps] == ["fill_nan", "background", "drift", "rotate",
                                              "resample", "select_slices", "normalize"]
    assert not any(s["applied"] for s in out.steps)
    np.testing.assert_allclose(out.heights, np.arange(11, -1, -1) * 0.1)


def test_background_removal():
    nx, ny, nz = 40, 30, 3
    x, y = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    rng = np.random.default_rng(6)
    plane = (2.0 + 0.3 * x - 0.1 * y)[:, :, None] * np.ones(nz)
    assert np.abs(remove_background(plane, "plane")).max() < 1e-9
    lines = plane + rng.normal(size=(1, ny, nz))
    assert np.abs(remove_background(lines, "line")).max(axis=(0, 1)).max() < 0.3 * 20
    np.testing.assert_allclose(np.median(remove_background(lines, "line"), axis=0), 0,
                               atol=1e-12)  # fmt: skip
    stack = as_stack(ndimage.gaussian_filter(rng.normal(size=(128, 128, 10)), (3, 3, 0))
                     + 0.01 * x.mean() * np.linspace(-1, 1, 128)[:, None, None],
                     heights=model_heights())  # fmt: skip
    off = prepare_experiment(stack, drift=False)
    on = prepare_experiment(stack, drift=False, background="plane")
    assert on.step("background")["applied"] and not off.step("background")["applied"]
    assert not np.allclose(on.X, off.X)
    with pytest.raises(ValueError, match="background"):
        prepare_experiment(stack, background="sphere")


def test_nan_pixels_are_an_error_unless_filled(camphor20):
    df = camphor20.copy()
    df[:, 120:, 3] = np.nan  # an aborted frame: the last 8 scan lines of slice 3
    with pytest.raises(ValueError, match=r"fill_nan=True.*") as err:
        prepare_experiment(as_stack(df))
    assert "1024 NaN pixels" in str(err.value) and "[3]" in str(err.value)
    with pytest.warns(PreparationWarning, match="filled 1024 NaN"):
        out = prepare_experiment(as_stack(df), fill_nan=True, drift=False)
    assert np.isfinite(out.X).all() and out.step("fill_nan")["n_filled"] == 1024
    df[:, :, 5] = np.nan
    with pytest.raises(ValueError, match="no measured pixel"):
        prepare_experiment(as_stack(df), fill_nan=True)
    df = camphor20.copy()
    df[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        prepare_experiment(as_stack(df), fill_nan=True)


def test_slice_heights_picked_interpolated_or_assumed(camphor20):
    # unknown heights: the closest 10, the model's heights assumed
    with pytest.warns(PreparationWarning, match="unknown"):
        out = prepare_experiment(as_stack(camphor20, heights=None), drift=False)
    np.testing.assert_array_equal(out.df, camphor20[:, :, 10:].astype(np.float32))
    assert out.heights_assumed and np.allclose(out.heights, model_heights())
    # 0.2 Å apart: every other model height is interpolated between two measured slices
    coarse = camphor20[:, :, 1::2]
    with pytest.warns(PreparationWarning, match="0.200 Å apart"):
        out = prepare_experiment(as_stack(coarse, heights=np.arange(9, -1, -1) * 0.2),
                                 drift=False)  # fmt: skip
    np.testing.assert_allclose(out.heights, model_heights())
    truth = camphor20[:, :, default_height_indices(20)]
    err = np.abs(out.df - truth).mean(axis=(0, 1)) / truth.std(axis=(0, 1))
    measured = [0, 1, 4, 5, 8, 9]  # 1.4, 1.2, 0.8, 0.6, 0.2 and 0 Å were measured
    assert err[measured].max() < 1e-6 and err.max() < 0.15, err.round(3)
    assert [s.get("slice") for s in out.step("select_slices")["slices"]] == [
        2, 3, None, None, 5, 6, None, None, 8, 9]  # fmt: skip
    # ten consecutive 0.1 Å slices (0.9 Å span) are kept as they are
    with pytest.warns(PreparationWarning, match="shorter window"):
        out = prepare_experiment(as_stack(camphor20[:, :, 10:]), drift=False)
    np.testing.assert_array_equal(out.df, camphor20[:, :, 10:].astype(np.float32))
    np.testing.assert_allclose(out.heights, np.arange(9, -1, -1) * 0.1)
    with pytest.raises(ValueError, match="decrease"):
        prepare_experiment(as_stack(camphor20, heights=np.arange(20) * 0.1))
    with pytest.raises(ValueError, match="needs 10"):
        prepare_experiment(as_stack(camphor20[:, :, :8]))


def test_report_is_json_and_text(benzene_small):
    stack = as_stack(benzene_small, (12.0, 12.0), amplitude=1.0)
    prepared = quiet(stack=stack)
    assert any("amplitude" in w for w in prepared.warnings)
    report = json.loads(json.dumps(prepared.report()))
    assert report["shape"] == [128, 128, 10] and len(report["drift_px"]) == 12
    assert report["steps"][2]["name"] == "drift" and report["steps"][2]["applied"]
    text = prepared.summary()
    assert "[on ] drift" in text and "[off] background" in text and "largest drift" in text
    with pytest.raises(KeyError):
        prepared.step("nothing")
    with pytest.raises(TypeError):
        prepare_experiment(benzene_small)


# ------------------------------------------------------------------- the models and matching
def test_prepared_stack_goes_to_the_model_and_to_matching(camphor20):
    from afmkit.learn.models import load_pretrained, predict

    other = simulate(camphor(), (18.0, 18.0), (150, 150))
    rng = np.random.default_rng(7)
    spoiled = add_experiment_artefacts(apply_shifts(other, random_walk(rng, 20)), rng, NO_DRIFT)
    prepared = quiet(stack=as_stack(spoiled, (18.0, 18.0), scan_angle=15.0))
    stack, heights, compared = matching.check_experiment(
        prepared.df, MODEL, 10, slice_heights=prepared.heights, method="hybrid"
    )
    assert stack.shape == (128, 128, 10) and heights[compared].tolist() == [0.0, 0.3, 0.6]
    model = load_pretrained("dsh-light")
    out = predict(model, prepared.X[None])
    assert out["vdw_spheres"].shape == (1, 128, 128)
    assert np.isfinite(out["vdw_spheres"]).all()
    library = matching.build_library(n_orientations=3, source="exact", cache=False,
                                     progress=False)  # fmt: skip
    result = matching.match(prepared.df, model=model, library=library, method="descriptors",
                            slice_heights=prepared.heights, top_k=1, progress=False)  # fmt: skip
    assert result.rotations.shape == (1, 3, 3)


@pytest.mark.slow
def test_prepared_stack_goes_through_hybrid_matching(small_library, camphor20):
    lib, _ = small_library
    prepared = quiet(stack=as_stack(simulate(camphor(), (20.0, 20.0), (160, 160))))
    result = matching.match(prepared.df, library=lib, slice_heights=prepared.heights, top_k=1,
                            n_rescore=1, refine_top=0, progress=False)  # fmt: skip
    assert result.rotations.shape == (1, 3, 3)
