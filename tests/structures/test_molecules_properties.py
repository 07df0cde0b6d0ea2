"""Property-based tests of Molecule, read_xyz and write_xyz: random and malformed input gives a
molecule or a clear error (XYZFormatError naming the line for a bad file), and writing never
leaves a half-written file."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from afmkit.structures.elements import MAX_Z
from afmkit.structures.molecules import (
    Molecule,
    XYZFormatError,
    read_xyz,
    read_xyz_frames,
    write_xyz,
)
from tests.strategies import assert_clear_error, junk, junk_arrays, molecules, no_hang

FORMATS = ("auto", "plain", "charges", "extxyz")


def _check_molecule(mol: Molecule) -> None:
    n = len(mol)
    assert n >= 1
    assert mol.numbers.dtype == np.int64 and mol.numbers.shape == (n,)
    assert np.all((mol.numbers >= 1) & (mol.numbers <= MAX_Z))
    assert mol.positions.dtype == np.float64 and mol.positions.shape == (n, 3)
    assert mol.charges.dtype == np.float64 and mol.charges.shape == (n,)
    assert np.all(np.isfinite(mol.positions)) and np.all(np.isfinite(mol.charges))
    assert isinstance(mol.name, str) and isinstance(mol.formula, str)


# ---------------------------------------------------------------------------------------------
# Molecule
# ---------------------------------------------------------------------------------------------
@settings(max_examples=300)
@given(
    numbers=st.one_of(junk_arrays(max_dims=2), st.lists(junk, max_size=4), junk),
    positions=st.one_of(junk_arrays(max_dims=3), st.lists(junk, max_size=3), junk),
    charges=st.one_of(st.none(), junk_arrays(max_dims=2), junk),
    name=junk,
)
def test_molecule_from_junk_is_valid_or_rejected(numbers, positions, charges, name):
    try:
        mol = Molecule(numbers, positions, charges, name=name)
    except Exception as err:  # the type is the property under test
        assert_clear_error(err)
        return
    _check_molecule(mol)


@settings(max_examples=100)
@given(
    n=st.integers(1, 12),
    data=st.data(),
    as_symbols=st.booleans(),
)
def test_valid_arrays_give_a_molecule_with_copies(n, data, as_symbols):
    numbers = data.draw(st.lists(st.integers(1, MAX_Z), min_size=n, max_size=n))
    coord = st.floats(-1e4, 1e4, allow_nan=False)
    positions = data.draw(hnp.arrays(np.float64, (n, 3), elements=coord))
    charges = data.draw(hnp.arrays(np.float64, (n,), elements=st.floats(-2, 2)))
    from afmkit.structures.elements import SYMBOLS

    given_numbers = [SYMBOLS[z].upper() for z in numbers] if as_symbols else numbers
    mol = Molecule(given_numbers, positions, charges)
    _check_molecule(mol)
    assert mol.numbers.tolist() == numbers
    positions[:] = np.nan  # the molecule holds copies
    assert np.all(np.isfinite(mol.positions))


@settings(max_examples=100)
@given(mol=molecules(), index=st.integers(0, 11), bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_non_finite_values_name_the_atom(mol, index, bad):
    i = index % len(mol)
    positions = mol.positions.copy()
    positions[i, index % 3] = bad
    with pytest.raises(ValueError, match=f"atom {i}"):
        Molecule(mol.numbers, positions, mol.charges)
    charges = mol.charges.copy()
    charges[i] = bad
    with pytest.raises(ValueError, match=f"atom {i}"):
        Molecule(mol.numbers, mol.positions, charges)


# ---------------------------------------------------------------------------------------------
# xyz round trip
# ---------------------------------------------------------------------------------------------
def _expected_name(name: str, fmt: str) -> str:
    if fmt == "extxyz":
        return name.replace("\n", " ").replace("\r", " ")
    return name.replace("\n", " ").replace("\r", " ").strip()


names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=16
)


@settings(max_examples=150)
@given(
    mols=st.lists(molecules(extent=1e3, max_charge=3.0, names=names), min_size=1, max_size=3),
    fmt=st.sampled_from(FORMATS),
    to_file=st.booleans(),
)
@example(
    mols=[Molecule([6], [[0.0, 0.0, 0.0]], name="a\x85b\u2028c")], fmt="plain", to_file=False
)
@example(mols=[Molecule([8], [[0.0, 0.0, 0.0]], name='q"\\x\r')], fmt="extxyz", to_file=True)
def test_write_then_read_gives_the_molecules_back(mols, fmt, to_file):
    if to_file:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "m.xyz"
            write_xyz(path, mols, format=fmt)
            back = read_xyz_frames(path)
            last = read_xyz(path, index=-1)
    else:
        buf = io.StringIO()
        write_xyz(buf, mols, format=fmt)
        back = read_xyz_frames(io.StringIO(buf.getvalue()))
        last = read_xyz(io.StringIO(buf.getvalue()), index=-1)
    assert len(back) == len(mols)
    for m, b in zip(mols, back, strict=True):
        _check_molecule(b)
        np.testing.assert_array_equal(b.numbers, m.numbers)
        np.testing.assert_allclose(b.positions, m.positions, rtol=0, atol=1e-8)
        if fmt != "plain":
            np.testing.assert_allclose(b.charges, m.charges, rtol=0, atol=1e-8)
        assert b.name == _expected_name(m.name, fmt)
    np.testing.assert_array_equal(last.numbers, back[-1].numbers)


# ---------------------------------------------------------------------------------------------
# malformed xyz
# ---------------------------------------------------------------------------------------------
TOKENS = [
    "", " ", "0", "1", "2", "3", "-1", "1e400", "nan", "inf", "C", "h", "Xx", "86", "87", "0.5",
    "1.0", "-2.5", "Properties=species:S:1:pos:R:3", "Properties=species:S:1:pos:R:3:q:R:1",
    "Properties=Z:I:1:pos:R:3", "Properties=pos:R:2", "name=\"x\"", "²", "١", "٣", "\t", "\x0c",
    "\x85", "\u2028", "\ufeff", "#",
]
lines = st.lists(st.sampled_from(TOKENS) | st.text(max_size=4), max_size=6).map(" ".join)
xyz_texts = st.lists(lines, max_size=10).map("\n".join) | st.text(max_size=60)


def _read_or_reject(source, index: int = 0) -> None:
    try:
        mol = read_xyz(source, index=index)
    except XYZFormatError as err:
        assert "line " in str(err), str(err)
        return
    except IndexError as err:
        assert "no frame" in str(err)
        return
    _check_molecule(mol)


@settings(max_examples=300)
@given(text=xyz_texts, index=st.integers(-3, 3))
@example(text="1\n\n²  0 0 0\n", index=0)
@example(text="1\n\nC 0 0 0 ٣\n", index=0)
@example(text="1\nProperties=species:S:1:pos:R:3:q:R:1\nC 0 0 0 x\n", index=0)
def test_random_text_gives_a_molecule_or_an_error_naming_the_line(text, index):
    _read_or_reject(io.StringIO(text), index)


def _valid_text(mols: list[Molecule], fmt: str) -> str:
    buf = io.StringIO()
    write_xyz(buf, mols, format=fmt)
    return buf.getvalue()


@settings(max_examples=300)
@given(
    mols=st.lists(molecules(max_atoms=4), min_size=1, max_size=2),
    fmt=st.sampled_from(FORMATS),
    data=st.data(),
)
def test_damaged_xyz_files_give_a_molecule_or_an_error_naming_the_line(mols, fmt, data):
    text_lines = _valid_text(mols, fmt).split("\n")
    edits = data.draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 99), lines), max_size=3))
    for kind, where, new in edits:
        k = where % max(len(text_lines), 1)
        if kind == 0 and text_lines:
            del text_lines[k]
        elif kind == 1:
            text_lines.insert(k, new)
        elif kind == 2 and text_lines:
            text_lines[k] = new
        elif text_lines:  # damage one token
            toks = text_lines[k].split()
            if toks:
                toks[where % len(toks)] = new
            text_lines[k] = " ".join(toks)
    text = "\n".join(text_lines)
    cut = data.draw(st.integers(0, len(text)))
    _read_or_reject(io.StringIO(text[:cut]))


@settings(max_examples=50)
@given(blob=st.binary(max_size=40))
def test_random_bytes_give_a_molecule_or_a_clear_error(blob):
    try:
        mol = read_xyz(io.BytesIO(blob))
    except XYZFormatError as err:
        assert "line " in str(err)
    except UnicodeDecodeError as err:
        assert "utf-8" in str(err)
    else:
        _check_molecule(mol)


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_xyz(tmp_path / "nothing.xyz")


# ---------------------------------------------------------------------------------------------
# writing never leaves a half-written file
# ---------------------------------------------------------------------------------------------
@settings(max_examples=60)
@given(
    good=st.lists(molecules(max_atoms=3), min_size=0, max_size=2),
    bad=st.one_of(
        st.just("not a molecule"),
        st.none(),
        st.just(Molecule([6], [[0.0, 0.0, 0.0]], name="lone surrogate \ud800")),
    ),
    fmt=st.sampled_from(FORMATS),
    old=st.booleans(),
)
def test_failed_write_keeps_the_old_file(good, bad, fmt, old):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.xyz"
        if old:
            path.write_text("old content\n")
        with pytest.raises((TypeError, AttributeError, ValueError)) as info:
            write_xyz(path, [*good, bad, *good], format=fmt)
        if isinstance(info.value, AttributeError):
            pytest.fail(f"write_xyz crashed with AttributeError on {bad!r}: {info.value}")
        if old:
            assert path.read_text() == "old content\n"
        else:
            assert not path.exists(), "write_xyz left a partial file"
        assert sorted(p.name for p in Path(tmp).iterdir()) == (["out.xyz"] if old else [])


@settings(max_examples=150)
@given(mol=molecules(max_atoms=4), R=st.one_of(junk, junk_arrays(max_dims=3), hnp.arrays(
    np.float64, (3, 3), elements=st.floats(-1.5, 1.5))), shift=st.one_of(junk, junk_arrays()))
def test_rotated_and_translated_give_molecules_or_clear_errors(mol, R, shift):
    for make in (lambda: mol.rotated(R), lambda: mol.translated(shift)):
        try:
            out = make()
        except Exception as err:  # the type is the property under test
            assert_clear_error(err)
        else:
            _check_molecule(out)
            np.testing.assert_array_equal(out.numbers, mol.numbers)


@pytest.mark.slow
@settings(max_examples=40)
@given(smiles=st.text(alphabet="CNOSFcno()=#[]@+-123H.", max_size=8) | junk)
def test_from_smiles_gives_a_molecule_or_a_value_error(smiles):
    from afmkit.structures.molecules import from_smiles

    try:
        with no_hang(30):
            mol = from_smiles(smiles)
    except ValueError as err:
        assert str(err).strip()
        return
    _check_molecule(mol)
    assert np.all(np.linalg.norm(mol.positions - mol.centroid, axis=1) < 50)
