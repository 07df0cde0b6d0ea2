"""Instrument readers: round trips through afmkit's own synthetic files, and every bad input."""

from __future__ import annotations

import random

import numpy as np
import pytest

from afmkit.experiments.instrument_files import (
    DEFAULT_Z_CLOSEST_M,
    write_3ds,
    write_gwy,
    write_npz,
    write_sxm_series,
)
from afmkit.experiments.readers import (
    InstrumentFileError,
    InstrumentFileWarning,
    find_df_channel,
    read_3ds,
    read_experiment,
    read_gwy,
    read_numpy,
    read_sxm_header,
    read_sxm_series,
)
from afmkit.experiments.stack import ExperimentStack


@pytest.fixture
def stack() -> ExperimentStack:
    """32 × 24 px × 4 slices (not square, so a transposition shows), random Δf in Hz."""
    rng = np.random.default_rng(15)
    return ExperimentStack(
        df=rng.normal(-3.0, 1.0, size=(32, 24, 4)),
        pixel_size=(0.5, 0.4),
        heights=np.array([0.3, 0.2, 0.1, 0.0]),
        scan_center=(3.0, -2.0),
        scan_angle=15.0,
        amplitude=0.5,
        f0=30300.0,
    )


def assert_same(read: ExperimentStack, stack: ExperimentStack, atol: float = 1e-5) -> None:
    """Δf (float32 in the files), pixel size, heights, angle, centre, amplitude and f0 agree."""
    assert read.shape == stack.shape
    np.testing.assert_allclose(read.df, stack.df, atol=atol, rtol=1e-6)
    np.testing.assert_allclose(read.pixel_size, stack.pixel_size, rtol=1e-6)
    np.testing.assert_allclose(read.heights, stack.heights, atol=1e-6)
    np.testing.assert_allclose(read.scan_center, stack.scan_center, atol=1e-5)
    assert read.scan_angle == pytest.approx(stack.scan_angle)
    assert read.amplitude == pytest.approx(stack.amplitude)
    assert read.f0 == pytest.approx(stack.f0)


# ---------------------------------------------------------------------------------------------
# .sxm series
# ---------------------------------------------------------------------------------------------
def test_sxm_series_round_trip(tmp_path, stack):
    paths = write_sxm_series(stack, tmp_path / "run")
    assert len(paths) == 4
    read = read_experiment(tmp_path / "run")
    assert_same(read, stack)
    assert read.channel == "OC M1 Freq. Shift" and read.direction == "forward"
    assert read.sources == [str(p) for p in paths]
    assert any("zero-to-peak" in note for note in read.metadata["notes"])


def test_sxm_header_has_the_fields_of_a_real_file(tmp_path, stack):
    header, info, start = read_sxm_header(write_sxm_series(stack, tmp_path)[0])
    for key in ("NANONIS_VERSION", "SCANIT_TYPE", "REC_DATE", "SCAN_PIXELS", "SCAN_RANGE",
                "SCAN_OFFSET", "SCAN_ANGLE", "SCAN_DIR", "Z-CONTROLLER", "Z-Controller>Z (m)",
                "Oscillation Control>Amplitude Setpoint (m)",
                "Oscillation Control>Center Frequency (Hz)", "Scan>channels"):  # fmt: skip
        assert key in header, key
    assert header["SCAN_PIXELS"].split() == ["32", "24"]
    assert [row["Name"] for row in info] == ["Z", "Current", "OC_M1_Freq._Shift"]
    assert start > 0


def test_sxm_agrees_with_nanonispy2(tmp_path, stack):
    """An independent reader (PyPI nanonispy2) sees the images as afmkit stored them."""
    read = pytest.importorskip("nanonispy2.read")
    back = stack.df * 2 + 1
    paths = write_sxm_series(stack, tmp_path, backward=back)
    scan = read.Scan(str(paths[1]))
    assert list(scan.header["scan_pixels"]) == [32, 24]
    np.testing.assert_allclose(scan.header["scan_range"], [32 * 0.5e-10, 24 * 0.4e-10])
    signal = scan.signals["OC_M1_Freq._Shift"]
    # stored as (lines, pixels), first line at the bottom (SCAN_DIR up); backward mirrored in x
    np.testing.assert_allclose(signal["forward"].T, stack.df[:, :, 1], atol=1e-5)
    np.testing.assert_allclose(signal["backward"][:, ::-1].T, back[:, :, 1], atol=1e-5)


def test_sxm_forward_and_backward(tmp_path, stack):
    back = stack.df[::-1] * 0.5  # a different image, so a mix-up shows
    write_sxm_series(stack, tmp_path, backward=back)
    fwd = read_sxm_series(tmp_path, direction="forward")
    bwd = read_sxm_series(tmp_path, direction="backward")
    np.testing.assert_allclose(fwd.df, stack.df, atol=1e-5)
    np.testing.assert_allclose(bwd.df, back, atol=1e-5)
    assert bwd.direction == "backward"


def test_sxm_forward_only_has_no_backward(tmp_path, stack):
    write_sxm_series(stack, tmp_path, directions="forward")
    assert_same(read_sxm_series(tmp_path), stack)
    with pytest.raises(InstrumentFileError, match="forward only"):
        read_sxm_series(tmp_path, direction="backward")


@pytest.mark.parametrize("scan_dir", ["up", "down"])
def test_sxm_scan_direction(tmp_path, stack, scan_dir):
    paths = write_sxm_series(stack, tmp_path, scan_dir=scan_dir)
    assert_same(read_sxm_series(paths), stack)
    header, info, start = read_sxm_header(paths[0])
    raw = np.frombuffer(paths[0].read_bytes()[start:], dtype=">f4")
    first = raw[4 * 32 * 24: 4 * 32 * 24 + 32]  # first stored line of the Δf forward image
    line = stack.df[:, 0, 0] if scan_dir == "up" else stack.df[:, -1, 0]
    np.testing.assert_allclose(first, line, atol=1e-5)


def test_sxm_files_sorted_far_to_close_and_glob(tmp_path, stack):
    paths = write_sxm_series(stack, tmp_path)
    shuffled = paths[:]
    random.Random(0).shuffle(shuffled)
    assert_same(read_sxm_series(shuffled), stack)
    assert_same(read_experiment(str(tmp_path / "constant_height_*.sxm")), stack)


def test_sxm_channel_chosen_by_caller(tmp_path, stack):
    write_sxm_series(stack, tmp_path, channel="Frequency Shift")
    read = read_sxm_series(tmp_path, channel="frequency_shift")
    assert read.channel == "Frequency Shift"
    with pytest.raises(InstrumentFileError, match="channel.*no channel 'Input 3'"):
        read_sxm_series(tmp_path, channel="Input 3")


def test_sxm_without_df_channel(tmp_path, stack):
    write_sxm_series(stack, tmp_path, channel="Input 3", unit="V")
    with pytest.raises(InstrumentFileError, match="channel: no frequency-shift channel"):
        read_sxm_series(tmp_path)


def test_sxm_unknown_unit(tmp_path, stack):
    write_sxm_series(stack, tmp_path, unit="V")
    with pytest.raises(InstrumentFileError, match="Unit.*'V' is not a frequency unit"):
        read_sxm_series(tmp_path)


def test_sxm_khz_is_converted(tmp_path, stack):
    write_sxm_series(stack.replace(df=stack.df / 1000), tmp_path, unit="kHz")
    read = read_sxm_series(tmp_path)
    np.testing.assert_allclose(read.df, stack.df, atol=1e-4)
    assert any("kHz to Hz" in note for note in read.metadata["notes"])


def test_sxm_mixed_pixel_sizes(tmp_path, stack):
    a = write_sxm_series(stack, tmp_path / "a")
    b = write_sxm_series(stack.replace(pixel_size=(0.6, 0.4)), tmp_path / "b")
    with pytest.raises(InstrumentFileError, match="SCAN_RANGE.*pixel size"):
        read_sxm_series([a[0], a[1], b[2], a[3]])


def test_sxm_mixed_shapes(tmp_path, stack):
    a = write_sxm_series(stack, tmp_path / "a")
    b = write_sxm_series(stack.replace(df=stack.df[:16]), tmp_path / "b")
    with pytest.raises(InstrumentFileError, match="SCAN_PIXELS"):
        read_sxm_series([a[0], b[1]])


def test_sxm_nan_lines_of_an_aborted_scan_warn_and_stay(tmp_path, stack):
    df = stack.df.copy()
    df[:, -5:, 3] = np.nan  # the scan of the closest slice stopped 5 lines early
    write_sxm_series(stack.replace(df=df), tmp_path)
    with pytest.warns(InstrumentFileWarning, match="5 scan lines .* NaN"):
        read = read_sxm_series(tmp_path)
    assert np.isnan(read.df[:, -5:, 3]).all()
    assert np.isfinite(read.df[:, :-5]).all() and np.isfinite(read.df[:, :, :3]).all()


def test_sxm_truncated_file(tmp_path, stack):
    paths = write_sxm_series(stack, tmp_path)
    paths[2].write_bytes(paths[2].read_bytes()[:-100])
    with pytest.raises(InstrumentFileError, match="constant_height_003.sxm: data: file is trunc"):
        read_sxm_series(paths)
    paths[2].write_bytes(paths[2].read_bytes()[:300])
    with pytest.raises(InstrumentFileError, match="SCANIT_END"):
        read_sxm_series(paths)


def test_sxm_contradictory_heights(tmp_path, stack):
    paths = write_sxm_series(stack.replace(heights=np.array([0.3, 0.2, 0.2, 0.0])), tmp_path / "a")
    with pytest.raises(InstrumentFileError, match="Z-Controller>Z.*same height"):
        read_sxm_series(paths)
    paths = write_sxm_series(stack, tmp_path / "b")
    with pytest.raises(InstrumentFileError, match="heights: given heights .* contradict"):
        read_sxm_series(paths, heights=[0.4, 0.2, 0.1, 0.0])
    with pytest.raises(InstrumentFileError, match="3 heights given for 4 files"):
        read_sxm_series(paths, heights=[0.2, 0.1, 0.0])
    assert_same(read_sxm_series(paths, heights=[1.3, 1.2, 1.1, 1.0]), stack)


def test_sxm_without_heights_warns(tmp_path, stack):
    write_sxm_series(stack.replace(heights=None), tmp_path)
    with pytest.warns(InstrumentFileWarning, match="Z-Controller>Z .*no tip height"):
        read = read_sxm_series(tmp_path)
    assert read.heights is None
    np.testing.assert_allclose(read.df, stack.df, atol=1e-5)
    assert_same(read_sxm_series(tmp_path, heights=[0.3, 0.2, 0.1, 0.0]), stack)


def test_sxm_amplitude_conventions(tmp_path, stack):
    key = "Oscillation Control>Amplitude p-p (m)"
    write_sxm_series(stack.replace(amplitude=1.0), tmp_path, amplitude_key=key)
    read = read_sxm_series(tmp_path)
    assert read.amplitude == pytest.approx(0.5)  # ASD-AFM's "1 Å" peak-to-peak
    assert any("halved" in note for note in read.metadata["notes"])
    with pytest.raises(ValueError, match="amplitude_convention"):
        read_sxm_series(tmp_path, amplitude=1.0)
    read = read_sxm_series(tmp_path, amplitude=1.0, amplitude_convention="peak-to-peak")
    assert read.amplitude == pytest.approx(0.5)
    read = read_sxm_series(tmp_path, amplitude=0.8, amplitude_convention="zero-to-peak")
    assert read.amplitude == pytest.approx(0.8)


def test_sxm_differing_amplitudes_warn(tmp_path, stack):
    a = write_sxm_series(stack, tmp_path / "a")
    b = write_sxm_series(stack.replace(amplitude=0.6), tmp_path / "b")
    with pytest.warns(InstrumentFileWarning, match="amplitude: differs across the series"):
        read = read_sxm_series([a[0], a[1], a[2], b[3]])
    assert read.amplitude == pytest.approx(0.525)


def test_not_an_sxm(tmp_path):
    bad = tmp_path / "x.sxm"
    bad.write_bytes(b"hello")
    with pytest.raises(InstrumentFileError, match="NANONIS_VERSION"):
        read_experiment(bad)


def test_find_df_channel_needs_a_choice_between_several(tmp_path):
    names = ["Z", "OC M1 Freq. Shift", "Frequency Shift 2"]
    with pytest.raises(InstrumentFileError, match="several frequency-shift channels"):
        find_df_channel(names, ["m", "Hz", "Hz"], tmp_path)
    assert find_df_channel(names, ["m", "Hz", "Hz"], tmp_path, "Frequency_Shift_2") == 2
    assert find_df_channel(["Z", "PLL out"], ["m", "Hz"], tmp_path) == 1


# ---------------------------------------------------------------------------------------------
# .3ds grids
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def ten(stack) -> ExperimentStack:
    """10 slices 0.1 Å apart: what read_3ds reads by default."""
    rng = np.random.default_rng(3)
    return stack.replace(df=rng.normal(-3.0, 1.0, size=(32, 24, 10)),
                         heights=np.round(np.arange(9, -1, -1) * 0.1, 10))  # fmt: skip


def test_3ds_round_trip_at_default_heights(tmp_path, ten):
    path = write_3ds(ten, tmp_path / "grid.3ds")
    read = read_experiment(path)
    assert_same(read, ten, atol=1e-4)
    assert read.metadata["z_closest"] == pytest.approx(DEFAULT_Z_CLOSEST_M * 1e10)


def test_3ds_interpolates_between_sweep_points(tmp_path, ten):
    path = write_3ds(ten, tmp_path / "grid.3ds")
    read = read_3ds(path, heights=[0.85, 0.05])
    np.testing.assert_allclose(read.df[:, :, 0], ten.df[:, :, :2].mean(axis=2), atol=1e-4)
    np.testing.assert_allclose(read.df[:, :, 1], ten.df[:, :, 8:].mean(axis=2), atol=1e-4)
    np.testing.assert_allclose(read.heights, [0.8, 0.0])
    with pytest.warns(InstrumentFileWarning, match="outside the pixel's z sweep"):
        beyond = read_3ds(path, heights=[1.5, 0.0])
    assert np.isnan(beyond.df[:, :, 0]).all()


def test_3ds_backward_channel(tmp_path, ten):
    path = write_3ds(ten, tmp_path / "grid.3ds", backward=True)
    read = read_3ds(path, direction="backward")
    assert read.direction == "backward"
    np.testing.assert_allclose(read.df, ten.df, atol=1e-4)


def test_3ds_bad_input(tmp_path, ten):
    path = write_3ds(ten, tmp_path / "grid.3ds")
    with pytest.raises(InstrumentFileError, match="channel: no frequency-shift channel"):
        read_3ds(write_3ds(ten, tmp_path / "v.3ds", channel="Input 3", unit="V"))
    with pytest.raises(InstrumentFileError, match="unit of channel .* not a frequency unit"):
        read_3ds(write_3ds(ten, tmp_path / "u.3ds", unit="V"))
    raw = path.read_bytes()
    cut = tmp_path / "cut.3ds"
    cut.write_bytes(raw[:-1000])
    with pytest.raises(InstrumentFileError, match="cut.3ds: data: file is truncated"):
        read_3ds(cut)
    bias = tmp_path / "bias.3ds"
    bias.write_bytes(raw.replace(b'Sweep Signal="Z (m)"', b'Sweep Signal="Bias (V)"'))
    with pytest.raises(InstrumentFileError, match="Sweep Signal.*not a Δf"):
        read_3ds(bias)
    nohead = tmp_path / "nohead.3ds"
    nohead.write_bytes(raw.replace(b":HEADER_END:", b":HEADER_XXX:"))
    with pytest.raises(InstrumentFileError, match="HEADER_END"):
        read_3ds(nohead)


def test_3ds_aborted_grid_warns(tmp_path, ten):
    df = ten.df.copy()
    df[:, -3:, :] = np.nan  # the last three rows of pixels were never measured
    path = write_3ds(ten.replace(df=df), tmp_path / "grid.3ds")
    with pytest.warns(InstrumentFileWarning, match=f"{3 * 32} of {32 * 24} pixels were not"):
        read = read_3ds(path)
    assert np.isnan(read.df[:, -3:]).all()
    np.testing.assert_allclose(read.df[:, :-3], ten.df[:, :-3], atol=1e-4)


# ---------------------------------------------------------------------------------------------
# .gwy
# ---------------------------------------------------------------------------------------------
def test_gwy_round_trip_and_gwyfile_sees_it(tmp_path, stack):
    gwyfile = pytest.importorskip("gwyfile")
    path = write_gwy(stack, tmp_path / "stack.gwy")
    assert_same(read_experiment(path), stack, atol=0)
    container = gwyfile.load(str(path))
    field = container["/2/data"]
    assert container["/2/data/title"] == "OC M1 Freq. Shift (Forward)"
    assert field.si_unit_z.unitstr == "Hz" and field.si_unit_xy.unitstr == "m"
    assert field.data.shape == (24, 32)  # (yres, xres)
    assert field.xreal == pytest.approx(32 * 0.5e-10)
    np.testing.assert_array_equal(field.data[::-1].T, stack.df[:, :, 2])  # row 0 = top
    assert container["/4/data/title"] == "Z (Forward)"  # the topography, left out by the reader


def test_gwy_directions_and_fields(tmp_path, stack):
    path = write_gwy(stack, tmp_path / "stack.gwy", backward=True)
    assert_same(read_gwy(path), stack, atol=0)
    assert read_gwy(path, direction="backward").direction == "backward"
    read = read_gwy(path, fields=[4, 0])
    np.testing.assert_array_equal(read.df, stack.df[:, :, [0, 2]])
    with pytest.raises(InstrumentFileError, match="fields: no field"):
        read_gwy(path, fields=[42])


def test_gwy_bad_input(tmp_path, stack):
    with pytest.raises(InstrumentFileError, match="si_unit_z: unit 'V'"):
        read_gwy(write_gwy(stack, tmp_path / "v.gwy", unit="V"))
    with pytest.raises(InstrumentFileError, match="fields: no forward field with a Δf title"):
        read_gwy(write_gwy(stack, tmp_path / "c.gwy", title="Current", unit="A"))
    with pytest.warns(InstrumentFileWarning, match="no tip height"):
        read_gwy(write_gwy(stack.replace(heights=None), tmp_path / "h.gwy"))
    junk = tmp_path / "junk.gwy"
    junk.write_bytes(b"GWYPjunk")
    with pytest.raises(InstrumentFileError, match="junk.gwy: GWYP: not a readable"):
        read_gwy(junk)


# ---------------------------------------------------------------------------------------------
# .npy / .npz and dispatch
# ---------------------------------------------------------------------------------------------
def test_npz_round_trip(tmp_path, stack):
    path = write_npz(stack, tmp_path / "stack.npz")
    assert_same(read_experiment(path), stack, atol=0)
    with pytest.raises(InstrumentFileError, match="pixel_size: argument .* contradicts"):
        read_numpy(path, pixel_size=0.2)


def test_npy_needs_its_pixel_size(tmp_path, stack):
    path = tmp_path / "stack.npy"
    np.save(path, stack.df.transpose(1, 0, 2)[None])  # as the published camphor files: (1, y, x, z)
    with pytest.raises(InstrumentFileError, match="pixel_size: not in the file"):
        read_experiment(path)
    read = read_experiment(path, pixel_size=(0.5, 0.4), axes="yxz", heights=[0.3, 0.2, 0.1, 0.0],
                           amplitude=1.0, amplitude_convention="peak-to-peak", f0=30300.0,
                           scan_angle=15.0, scan_center=(3.0, -2.0))  # fmt: skip
    assert_same(read, stack, atol=0)
    with pytest.warns(InstrumentFileWarning, match="heights: not given"):
        assert read_numpy(path, pixel_size=0.5, axes="yxz").heights is None
    with pytest.raises(InstrumentFileError, match="axes"):
        read_numpy(path, pixel_size=0.5, axes="xyy")
    with pytest.raises(InstrumentFileError, match="heights: 2 heights for 4 slices"):
        read_numpy(path, pixel_size=0.5, axes="yxz", heights=[1, 0])


def test_dispatch(tmp_path, stack):
    write_npz(stack, tmp_path / "a.npz")
    write_sxm_series(stack, tmp_path)
    with pytest.raises(InstrumentFileError, match="mixed file types"):
        read_experiment([tmp_path / "a.npz", tmp_path / "constant_height_001.sxm"])
    other = tmp_path / "a.tiff"
    other.write_bytes(b"II*")
    with pytest.raises(InstrumentFileError, match="unknown file type '.tiff'"):
        read_experiment(other)
    with pytest.raises(FileNotFoundError):
        read_experiment(tmp_path / "missing.sxm")
    with pytest.raises(FileNotFoundError, match="matches no file"):
        read_experiment(str(tmp_path / "nothing_*.sxm"))
