"""Tests for afmkit.structures.elements: symbols, numbers, radii."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.structures import elements


# ---------------------------------------------------------------------------- elements
def test_elements_symbols_and_numbers():
    assert elements.SYMBOLS[0] == "" and len(elements.SYMBOLS) == 87
    assert elements.SYMBOLS[6] == "C" and elements.SYMBOLS[86] == "Rn"
    for s in ("cl", "CL", "Cl", " Cl ", "17", 17, np.int32(17)):
        assert elements.atomic_number(s) == 17
    assert elements.symbol(35) == "Br"
    assert elements.element_name("o") == "Oxygen"


@pytest.mark.parametrize("bad", ["Xx", "", "C1", 0, 87, -1, "0", "q"])
def test_elements_unknown(bad):
    with pytest.raises(elements.UnknownElementError) as ei:
        elements.atomic_number(bad)
    assert isinstance(ei.value, ValueError)
    if isinstance(bad, str) and bad.strip() and not bad.isdigit():
        assert repr(bad) in str(ei.value)


def test_elements_radii():
    assert elements.covalent_radius(6) == pytest.approx(0.76)
    assert elements.covalent_radius(1) == pytest.approx(0.31)
    assert elements.vdw_radius(1) == pytest.approx(1.20)
    assert elements.vdw_radius(6) == pytest.approx(1.70)
    assert elements.vdw_radius(35) == pytest.approx(1.85)
    assert elements.vdw_radius(5) == pytest.approx(1.92)  # Mantina
    assert elements.vdw_source(5) == "mantina2009"
    assert elements.vdw_radius(26) == pytest.approx(elements.VDW_FALLBACK)
    assert elements.vdw_source("Fe") == "fallback"
    z = np.array([[1, 6], [7, 8]])
    r = elements.vdw_radius(z)
    assert r.shape == (2, 2) and r.dtype == np.float64
    np.testing.assert_allclose(r, [[1.20, 1.70], [1.55, 1.52]])
    c = elements.covalent_radius(np.arange(1, 87))
    assert np.all(np.isfinite(c)) and np.all((c > 0.2) & (c < 2.5))
    v = elements.vdw_radius(np.arange(1, 87))
    assert np.all(np.isfinite(v)) and np.all((v > 1.0) & (v < 3.5))
    assert isinstance(elements.vdw_radius(8), float)
    with pytest.raises(ValueError):
        elements.vdw_radius(np.array([1, 0]))
    with pytest.raises(ValueError):
        elements.covalent_radius(87)
