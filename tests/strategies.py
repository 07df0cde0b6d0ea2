"""Hypothesis strategies and helpers shared by the property-based tests (``test_*_properties.py``).

Importing this module registers and loads the ``afmkit`` Hypothesis profile: derandomized (the
same examples on every run, so CI is reproducible), no example database (nothing is written into
the repository) and no per-example deadline (the first call of a simulator compiles OpenCL
kernels). Each test sets its own ``max_examples``; the whole property suite is sized to run in
about half a minute on two CPU cores. ``AFMKIT_HYPOTHESIS_PROFILE=default`` switches to
Hypothesis's own random profile for a longer local hunt. (Hypothesis keeps a small cache in
``.hypothesis/``, which ignores itself in git.)
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from afmkit.structures.molecules import Molecule

settings.register_profile(
    "afmkit",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
)
settings.load_profile(os.environ.get("AFMKIT_HYPOTHESIS_PROFILE", "afmkit"))

#: Exceptions that mean "the input was rejected with a message" (UnicodeError, XYZFormatError,
#: UnknownElementError and MissingLJParametersError are ValueErrors, DatasetUnavailableError and
#: FileNotFoundError are OSErrors).
CLEAR_ERRORS = (ValueError, TypeError, OSError)

#: Elements drawn for random molecules: H, C, N, O, F, P, S, Cl, Br, I, Xe, Au and Rn.
ELEMENTS = (1, 6, 7, 8, 9, 15, 16, 17, 35, 53, 54, 79, 86)


def assert_clear_error(err: BaseException) -> None:
    """Fail unless ``err`` is one of :data:`CLEAR_ERRORS` and has a message."""
    assert isinstance(err, CLEAR_ERRORS), f"{type(err).__name__}: {err}"
    assert str(err).strip(), f"{type(err).__name__} without a message"


class HangError(AssertionError):
    """A call ran past its time limit (an AssertionError, so never taken for a clear error)."""


@contextlib.contextmanager
def no_hang(seconds: float = 20.0) -> Iterator[None]:
    """Fail with :class:`HangError` if the block runs longer than ``seconds``."""

    def alarm(signum, frame):  # pragma: no cover - only when something hangs
        raise HangError(f"no result after {seconds} s: the call hangs")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def leftovers(directory: Path) -> list[str]:
    """Temporary files of :func:`afmkit.fileio.atomic_path` left in ``directory``."""
    return sorted(p.name for p in Path(directory).glob(".*.tmp-*"))


# ---------------------------------------------------------------------------------------------
# numbers and arrays
# ---------------------------------------------------------------------------------------------
#: Any float, NaN and ±inf included.
any_float = st.floats(allow_nan=True, allow_infinity=True)
#: Finite floats of a physically sensible size.
small_float = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)

#: Values that are not what a numeric parameter expects.
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    any_float,
    st.text(max_size=4),
    st.binary(max_size=4),
    st.lists(st.integers(-3, 3), max_size=3),
    st.just(object()),
    st.just(1j),
)


def junk_arrays(
    min_dims: int = 0, max_dims: int = 4, max_side: int = 5
) -> st.SearchStrategy[np.ndarray]:
    """Arrays of any common dtype (bool, ints, floats with NaN/inf, complex, strings, objects)
    and small shapes, including empty ones."""
    dtypes = st.one_of(
        hnp.boolean_dtypes(),
        hnp.integer_dtypes(endianness="="),
        hnp.unsigned_integer_dtypes(endianness="="),
        hnp.floating_dtypes(endianness="="),
        hnp.complex_number_dtypes(endianness="="),
        st.just(np.dtype("U3")),
    )
    shapes = hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=max_side
    )
    objects = hnp.arrays(
        np.dtype(object),
        hnp.array_shapes(min_dims=min_dims, max_dims=max(min_dims, 1), max_side=4),
        elements=junk,
    )
    return st.one_of(hnp.arrays(dtypes, shapes), objects)


# ---------------------------------------------------------------------------------------------
# molecules
# ---------------------------------------------------------------------------------------------
@st.composite
def molecules(
    draw,
    min_atoms: int = 1,
    max_atoms: int = 12,
    extent: float = 4.0,
    max_charge: float = 0.6,
    elements: tuple[int, ...] = ELEMENTS,
    names: st.SearchStrategy[str] | None = None,
) -> Molecule:
    """Valid molecules of 1–12 atoms within ``extent`` Å of the origin (atoms may coincide),
    charges in ±``max_charge`` e."""
    n = draw(st.integers(min_atoms, max_atoms))
    numbers = draw(st.lists(st.sampled_from(elements), min_size=n, max_size=n))
    coord = st.floats(-extent, extent, allow_nan=False, allow_infinity=False)
    positions = draw(hnp.arrays(np.float64, (n, 3), elements=coord))
    charge = st.floats(-max_charge, max_charge, allow_nan=False, allow_infinity=False)
    charges = draw(hnp.arrays(np.float64, (n,), elements=charge))
    name = draw(names if names is not None else st.text(max_size=12))
    return Molecule(numbers, positions, charges, name=name)


# ---------------------------------------------------------------------------------------------
# Δf stacks
# ---------------------------------------------------------------------------------------------
def stacks(
    min_batch: int = 1, max_batch: int = 3, max_side: int = 10, min_slices: int = 1,
    max_slices: int = 20, scale: float = 1e3,
) -> st.SearchStrategy[np.ndarray]:
    """Finite float32 batches (B, nx, ny, nz) of Δf-like values (|value| <= ``scale``)."""
    shape = st.tuples(
        st.integers(min_batch, max_batch),
        st.integers(1, max_side),
        st.integers(1, max_side),
        st.integers(min_slices, max_slices),
    )
    values = st.floats(-scale, scale, allow_nan=False, allow_infinity=False, width=32)
    return hnp.arrays(np.float32, shape, elements=values)
