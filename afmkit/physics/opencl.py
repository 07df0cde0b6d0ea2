"""OpenCL plumbing: device choice, a program cache, and thin wrappers that own the buffers.

The kernels live in ``afmkit/physics/kernels/*.cl``; the constants they share with their NumPy
twins (the softening :data:`~afmkit.physics.forcefield.R2_SOFTENING`, the interpolation clamp
:data:`~afmkit.physics.relax.GRID_CLAMP`) are passed as ``-D`` build options made from the Python
values, and the FIRE settings (:class:`~afmkit.physics.relax.FireSettings`) as kernel arguments.
On a CPU-only Linux machine ``pyopencl[pocl]`` provides a PoCL CPU device; GPUs are used when their
vendor driver is installed. Choose a device with the environment variable ``AFMKIT_OPENCL_DEVICE``
(a substring of the device name, e.g. ``"NVIDIA"`` or ``"pthread"``); otherwise a GPU is preferred
over a CPU.

If no platform is found, :func:`available` returns ``False`` with the reason, and the simulator
falls back to NumPy.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from afmkit.physics.forcefield import R2_SOFTENING, ForceField, Grid
from afmkit.physics.relax import GRID_CLAMP, FireSettings

__all__ = [
    "CLContext",
    "NZ_PER_ITEM",
    "PX_PER_ITEM",
    "OpenCLUnavailableError",
    "available",
    "forcefield",
    "fz_to_df",
    "get_context",
    "list_devices",
    "relax",
]

NZ_PER_ITEM = 16  # grid points along z computed by one force-field work item (vector lanes)
PX_PER_ITEM = 8  # pixels relaxed by one work item (vector lanes of the masked FIRE)
# Measured on the 2-core PoCL CPU (camphor, 128 × 128 px, 30 heights): 16 z lanes made the force
# field 4-5x faster than 4 scalar points per item; 8 pixel lanes relax 3-4x faster than one pixel
# per item (16 lanes: 10 % slower, since an item waits for its slowest pixel).
_KERNELS = {"forcefield": ("lj_coulomb_grid",), "relax": ("relax_probe", "fz_to_df")}
_BUILD_OPTIONS = [
    "-cl-fast-relaxed-math",
    "-cl-denorms-are-zero",  # denormals made the force field 12x slower on PoCL for z = 0 atoms
    f"-DNZ_PER_ITEM={NZ_PER_ITEM}",
    f"-DPX_PER_ITEM={PX_PER_ITEM}",
    f"-DR2_SOFTENING={R2_SOFTENING!r}f",
    f"-DGRID_CLAMP={GRID_CLAMP!r}f",
]


class OpenCLUnavailableError(RuntimeError):
    """No usable OpenCL platform or device."""


@dataclass
class CLContext:
    """An OpenCL context, queue and the compiled afmkit programs.

    Attributes
    ----------
    context, queue, device : pyopencl objects
        The context, its command queue and its device.
    kernels : dict
        Kernel objects by name (``lj_coulomb_grid``, ``relax_probe``, ``fz_to_df``).
    lock : threading.Lock
        Held during every launch: kernel objects hold their arguments.
    """

    context: object
    queue: object
    device: object
    kernels: dict
    # Kernel objects hold their arguments: one launch at a time (dataset worker threads share it).
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def device_name(self) -> str:
        """The device, as ``'device (platform)'``."""
        return f"{self.device.name.strip()} ({self.device.platform.name.strip()})"


def list_devices() -> list[str]:
    """Names of all OpenCL devices found.

    Returns
    -------
    list of str
        ``'device (platform)'`` for each device; empty if none (or no pyopencl).
    """
    try:
        import pyopencl as cl

        return [
            f"{d.name.strip()} ({p.name.strip()})"
            for p in cl.get_platforms()
            for d in p.get_devices()
        ]
    except Exception:
        return []


def _pick_device():
    import pyopencl as cl

    try:
        platforms = cl.get_platforms()
    except Exception as err:  # pyopencl raises LogicError/RuntimeError when no ICD is installed
        raise OpenCLUnavailableError(f"no OpenCL platform found ({err})") from err
    devices = [d for p in platforms for d in p.get_devices()]
    if not devices:
        raise OpenCLUnavailableError("OpenCL platforms found, but no devices")
    wanted = os.environ.get("AFMKIT_OPENCL_DEVICE")
    if wanted:
        matches = [d for d in devices if wanted.lower() in f"{d.name} {d.platform.name}".lower()]
        if not matches:
            names = ", ".join(d.name.strip() for d in devices)
            raise OpenCLUnavailableError(
                f"AFMKIT_OPENCL_DEVICE={wanted!r} matches none of: {names}"
            )
        return matches[0]
    gpus = [d for d in devices if d.type & cl.device_type.GPU]
    return (gpus or devices)[0]


_CONTEXTS: dict[int, CLContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def get_context() -> CLContext:
    """The shared OpenCL context with compiled kernels.

    Built once per process; a forked worker builds its own, since OpenCL contexts do not survive
    a fork.

    Returns
    -------
    CLContext
        The context.

    Raises
    ------
    OpenCLUnavailableError
        If OpenCL cannot be used (no pyopencl, no platform or device, kernels fail to build).
    """
    pid = os.getpid()
    with _CONTEXTS_LOCK:
        if pid not in _CONTEXTS:
            _CONTEXTS[pid] = _build_context()
        return _CONTEXTS[pid]


def _build_context() -> CLContext:
    try:
        import pyopencl as cl
    except ImportError as err:
        raise OpenCLUnavailableError(f"pyopencl is not installed ({err})") from err
    device = _pick_device()
    context = cl.Context([device])
    queue = cl.CommandQueue(context)
    kernels = {}
    for name, kernel_names in _KERNELS.items():
        src = resources.files("afmkit.physics").joinpath(f"kernels/{name}.cl").read_text()
        try:
            program = cl.Program(context, src).build(options=_BUILD_OPTIONS)
        except Exception as err:
            raise OpenCLUnavailableError(f"building kernels/{name}.cl failed: {err}") from err
        # Kernel objects are created once: each new one is specialised again by the driver.
        kernels.update({k: cl.Kernel(program, k) for k in kernel_names})
    return CLContext(context, queue, device, kernels)


def available() -> tuple[bool, str]:
    """Whether OpenCL works here.

    Returns
    -------
    ok : bool
        True if a context could be built.
    detail : str
        The device name, or the reason OpenCL cannot be used.
    """
    try:
        return True, get_context().device_name
    except OpenCLUnavailableError as err:
        return False, str(err)


def forcefield(ctx: CLContext, grid: Grid, atoms: np.ndarray, lj: np.ndarray, wait: bool = True):
    """Tabulate the LJ + Coulomb force field on ``grid`` on the device (kernel ``lj_coulomb_grid``).

    The twin of :func:`afmkit.physics.forcefield.compute_forcefield_numpy`.

    Parameters
    ----------
    ctx : CLContext
        From :func:`get_context`.
    grid : Grid
        The grid, Å.
    atoms : numpy.ndarray, shape (N, 4)
        x, y, z in Å and ``k_e q_i Q_PP`` in eV·Å (:func:`~afmkit.physics.forcefield.atom_arrays`).
    lj : numpy.ndarray, shape (N, 2)
        ``r_ij²`` in Å² and ``eps_ij`` in eV.
    wait : bool
        Return when the kernel has finished (False: as soon as it is queued; a later
        :func:`relax` on the same queue runs after it anyway).

    Returns
    -------
    forcefield : ForceField
        The tabulated field (float32 (nz, ny, nx, 4): eV/Å and eV). It stays on the device: its
        ``data`` is copied to the host only when first read.
    buffer : pyopencl.Buffer
        The same data on the device (float4 per point, z fastest: index ``(ix·ny + iy)·nz + iz``),
        for :func:`relax`.
    """
    import pyopencl as cl

    mf = cl.mem_flags
    nx, ny, nz = grid.shape
    atoms = np.ascontiguousarray(atoms, dtype=np.float32)
    lj = np.ascontiguousarray(lj, dtype=np.float32)
    nzi = -(-nz // NZ_PER_ITEM)
    origin = np.array([*grid.origin, 0.0], dtype=np.float32)
    with ctx.lock:
        d_atoms = cl.Buffer(ctx.context, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=atoms)
        d_lj = cl.Buffer(ctx.context, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=lj)
        d_out = cl.Buffer(ctx.context, mf.READ_WRITE, size=nx * ny * nz * 16)
        done = ctx.kernels["lj_coulomb_grid"](
            ctx.queue, (nx, ny, nzi), None,
            np.int32(len(atoms)), d_atoms, d_lj, d_out,
            np.int32(nx), np.int32(ny), np.int32(nz), origin, np.float32(grid.step),
        )  # fmt: skip
    if wait:
        done.wait()  # outside the lock: another thread may queue its work meanwhile

    def fetch() -> np.ndarray:
        device = np.empty((nx, ny, nz, 4), dtype=np.float32)
        with ctx.lock:
            cl.enqueue_copy(ctx.queue, device, d_out)
        return np.ascontiguousarray(device.transpose(2, 1, 0, 3))

    return ForceField(grid, fetch=fetch), d_out


def relax(
    ctx: CLContext,
    ff: ForceField,
    ff_buffer,
    xs: np.ndarray,
    ys: np.ndarray,
    z_top: float,
    dz: float,
    n_samples: int,
    rest: np.ndarray,
    k_lat_ev: float,
    k_rad_ev: float,
    fire: FireSettings | None = None,
    store_positions: bool = False,
    df_weights: np.ndarray | None = None,
):
    """Relax the probe over all pixels on the device (kernel ``relax_probe``).

    The twin of :func:`afmkit.physics.relax.relax_numpy`; pixel p is ``(xs[p // ny], ys[p % ny])``.
    One work item relaxes :data:`PX_PER_ITEM` consecutive pixels in the lanes of a vector (masked
    FIRE: a converged lane is frozen while the others go on), so every pixel follows the same
    path as in the NumPy twin.

    Parameters
    ----------
    ctx : CLContext
        From :func:`get_context`.
    ff : ForceField
        The tabulated force field.
    ff_buffer : pyopencl.Buffer or None
        ``ff`` already on the device (from :func:`forcefield`, z fastest), or None to upload it.
    xs, ys : numpy.ndarray, shape (nx,), (ny,)
        Tip-apex x and y coordinates, Å, evenly spaced (the scan grid).
    z_top : float
        Apex height of the first (highest) sample, Å.
    dz : float
        Approach step, Å.
    n_samples : int
        Number of heights.
    rest : numpy.ndarray, shape (4,)
        PP rest offset from the apex (x, y, z) and rest length, Å.
    k_lat_ev, k_rad_ev : float
        Lateral and radial spring constants, eV/Å².
    fire : FireSettings, optional
        Minimiser settings, passed to the kernel as arguments; default ``FireSettings()``.
    store_positions : bool, optional
        Also return the relaxed PP positions.
    df_weights : numpy.ndarray, shape (m,), optional
        Giessibl weights (:func:`afmkit.physics.frequency.df_weights`, Hz per eV/Å); if given,
        Δf is computed on the device too.

    Returns
    -------
    fz : numpy.ndarray, float32, shape (nx·ny, n_samples)
        Vertical force on the relaxed PP, eV/Å.
    positions : numpy.ndarray, float32, shape (nx·ny, n_samples, 4), or None
        Relaxed PP positions (Å) and energy (eV), if ``store_positions``.
    df : numpy.ndarray, float32, shape (nx·ny, n_samples − m + 1), or None
        Δf in Hz, if ``df_weights`` is given.
    """
    fire = FireSettings() if fire is None else fire
    import pyopencl as cl

    mf = cl.mem_flags
    nx, ny, nz = ff.grid.shape
    n_px = len(xs) * len(ys)
    sx = float(xs[1] - xs[0]) if len(xs) > 1 else 0.0
    sy = float(ys[1] - ys[0]) if len(ys) > 1 else 0.0
    fz = np.empty((n_px, n_samples), dtype=np.float32)
    pos = np.empty((n_px, n_samples, 4), dtype=np.float32) if store_positions else None
    origin = np.array([*ff.grid.origin, 0.0], dtype=np.float32)
    with ctx.lock:
        if ff_buffer is None:
            data = np.ascontiguousarray(ff.data.transpose(2, 1, 0, 3))  # z fastest
            ff_buffer = cl.Buffer(ctx.context, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=data)
        d_fz = cl.Buffer(ctx.context, mf.READ_WRITE, size=fz.nbytes)
        d_pos = cl.Buffer(ctx.context, mf.WRITE_ONLY, size=pos.nbytes if store_positions else 16)
        ctx.kernels["relax_probe"](
            ctx.queue, (-(-n_px // PX_PER_ITEM),), None,
            ff_buffer, np.int32(nx), np.int32(ny), np.int32(nz), origin,
            np.float32(1.0 / ff.grid.step),
            np.float32(xs[0]), np.float32(ys[0]), np.float32(sx), np.float32(sy),
            np.int32(len(ys)), np.int32(n_px),
            np.float32(z_top), np.float32(dz), np.int32(n_samples),
            np.asarray(rest, dtype=np.float32), np.float32(k_lat_ev), np.float32(k_rad_ev),
            np.float32(fire.dt), np.float32(fire.dt_min), np.float32(fire.f_inc),
            np.float32(fire.f_dec), np.float32(fire.alpha), np.float32(fire.f_alpha),
            np.int32(fire.max_iter), np.float32(fire.force_tol**2),
            d_fz, d_pos, np.int32(store_positions),
        )  # fmt: skip
        df, events = None, []
        if df_weights is not None:
            df, event = _apply_df(ctx, d_fz, n_px, n_samples, df_weights)
            events.append(event)
        events.append(cl.enqueue_copy(ctx.queue, fz, d_fz, is_blocking=False))
        if store_positions:
            events.append(cl.enqueue_copy(ctx.queue, pos, d_pos, is_blocking=False))
    # Wait outside the lock, so another thread can queue its next force field meanwhile.
    cl.wait_for_events(events)
    return fz, pos, df


def fz_to_df(ctx: CLContext, fz: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Apply the Δf weights to F_z curves on the device (twin of ``frequency.fz_to_df``).

    Parameters
    ----------
    ctx : CLContext
        From :func:`get_context`.
    fz : numpy.ndarray, shape (P, n_in)
        Vertical force in eV/Å, approach order.
    weights : numpy.ndarray, shape (m,)
        Giessibl weights, Hz per eV/Å (:func:`afmkit.physics.frequency.df_weights`).

    Returns
    -------
    numpy.ndarray, float32, shape (P, n_in − m + 1)
        Δf, Hz.
    """
    import pyopencl as cl

    fz = np.ascontiguousarray(fz, dtype=np.float32)
    with ctx.lock:
        flags = cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR
        d_fz = cl.Buffer(ctx.context, flags, hostbuf=fz)
        df, event = _apply_df(ctx, d_fz, fz.shape[0], fz.shape[1], weights)
    event.wait()
    return df


def _apply_df(ctx: CLContext, d_fz, n_px: int, n_in: int, weights: np.ndarray):
    """Queue ``fz_to_df`` on a device buffer of Fz (n_px, n_in) and the copy of Δf to the host.

    The caller holds ``ctx.lock`` and waits for the returned event before reading Δf.
    """
    import pyopencl as cl

    mf = cl.mem_flags
    w = np.ascontiguousarray(weights, dtype=np.float32)
    n_out = n_in - len(w) + 1
    df = np.empty((n_px, n_out), dtype=np.float32)
    d_w = cl.Buffer(ctx.context, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=w)
    d_df = cl.Buffer(ctx.context, mf.WRITE_ONLY, size=df.nbytes)
    ctx.kernels["fz_to_df"](
        ctx.queue, (n_px,), None, d_fz, d_df, d_w, np.int32(len(w)), np.int32(n_in), np.int32(n_out)
    )
    return df, cl.enqueue_copy(ctx.queue, df, d_df, is_blocking=False)
