"""Tests for afmkit.structures.molecules: Molecule, xyz I/O, SMILES, camphor."""

from __future__ import annotations

import io

import numpy as np
import pytest

from afmkit.structures import molecules as mm
from afmkit.structures.molecules import (
    Molecule,
    XYZFormatError,
    camphor,
    estimate_charges,
    read_xyz,
    read_xyz_frames,
    write_xyz,
)

MIRROR_CAMPHOR = "C[C@@]12CC[C@@H](C1(C)C)CC2=O"


def _water(charges: bool = True) -> Molecule:
    pos = [[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]]
    q = [-0.834, 0.417, 0.417] if charges else None
    return Molecule(["O", "H", "H"], pos, q, name="water")


def _pairwise(pos: np.ndarray) -> np.ndarray:
    return np.linalg.norm(pos[:, None] - pos[None], axis=-1)


# ---------------------------------------------------------------------------- Molecule
def test_molecule_basics():
    m = _water()
    assert len(m) == 3
    assert m.numbers.dtype == np.int64 and m.numbers.tolist() == [8, 1, 1]
    assert m.positions.dtype == np.float64 and m.positions.shape == (3, 3)
    assert m.charges.dtype == np.float64
    assert m.symbols == ["O", "H", "H"]
    assert m.formula == "H2O"
    assert "H2O" in repr(m) and "3 atoms" in repr(m)
    np.testing.assert_allclose(m.centroid, m.positions.mean(axis=0))
    m0 = Molecule([6, 1, 1, 1, 1], np.zeros((5, 3)))
    assert np.all(m0.charges == 0) and m0.formula == "CH4"
    assert Molecule(["c", "cl", "Br", "h"], np.zeros((4, 3))).formula == "CHBrCl"
    assert Molecule(["N", "H", "H", "H"], np.zeros((4, 3))).formula == "H3N"


def test_molecule_copies_inputs():
    z = np.array([8, 1, 1])
    pos = np.zeros((3, 3))
    q = np.zeros(3)
    m = Molecule(z, pos, q)
    z[0] = 6
    pos[0, 0] = 5.0
    q[0] = 1.0
    assert m.numbers[0] == 8 and m.positions[0, 0] == 0.0 and m.charges[0] == 0.0
    c = m.copy()
    c.positions[0, 0] = 1.0
    assert m.positions[0, 0] == 0.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(numbers=[], positions=np.zeros((0, 3))), "no atoms"),
        (dict(numbers=[1, 1], positions=np.zeros((3, 3))), "atoms"),
        (dict(numbers=[1, 1], positions=np.zeros((2, 2))), r"\(N, 3\)"),
        (dict(numbers=[1, 1], positions=np.zeros((2, 3)), charges=[0.0]), "charges"),
        (dict(numbers=[1, 0], positions=np.zeros((2, 3))), "atomic number 0"),
        (dict(numbers=[1, 87], positions=np.zeros((2, 3))), "87"),
        (dict(numbers=["C", "Xq"], positions=np.zeros((2, 3))), "Xq"),
        (dict(numbers=[1, 1], positions=[[0, 0, 0], [0, np.nan, 0]]), "atom 1"),
        (dict(numbers=[1, 1], positions=[[np.inf, 0, 0], [0, 0, 0]]), "atom 0"),
        (dict(numbers=[1, 1], positions=np.zeros((2, 3)), charges=[0, np.nan]), "atom 1"),
    ],
)
def test_molecule_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Molecule(**kwargs)


def test_rotated_preserves_distances_and_rejects_non_rotations():
    rng = np.random.default_rng(1)
    m = Molecule(rng.integers(1, 10, 12), rng.normal(size=(12, 3)) * 3, rng.normal(size=12))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    r = m.rotated(q)
    np.testing.assert_allclose(_pairwise(r.positions), _pairwise(m.positions), atol=1e-10)
    np.testing.assert_allclose(r.centroid, m.centroid, atol=1e-10)  # default centre: centroid
    np.testing.assert_array_equal(r.numbers, m.numbers)
    np.testing.assert_array_equal(r.charges, m.charges)
    r0 = m.rotated(q, center=np.zeros(3))
    np.testing.assert_allclose(r0.positions, m.positions @ q.T, atol=1e-12)
    # 90 degrees about z
    rz = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    one = Molecule([6], [[1.0, 0, 0]]).rotated(rz, center=[0, 0, 0])
    np.testing.assert_allclose(one.positions, [[0, 1, 0]], atol=1e-15)
    with pytest.raises(ValueError, match="reflection"):
        m.rotated(np.diag([1.0, 1.0, -1.0]))
    with pytest.raises(ValueError, match="orthonormal"):
        m.rotated(2 * np.eye(3))
    with pytest.raises(ValueError):
        m.rotated(np.eye(2))
    t = m.translated([1.0, 2.0, 3.0])
    np.testing.assert_allclose(t.positions - m.positions, np.broadcast_to([1, 2, 3], (12, 3)))


# ---------------------------------------------------------------------------- xyz
@pytest.mark.parametrize("fmt", ["plain", "charges", "extxyz", "auto"])
def test_xyz_roundtrip(tmp_path, fmt):
    rng = np.random.default_rng(0)
    z = rng.integers(1, 87, 20)
    pos = rng.normal(size=(20, 3)) * 10
    q = rng.normal(size=20) * 0.3
    m = Molecule(z, pos, q, name="random thing")
    path = tmp_path / f"m_{fmt}.xyz"
    write_xyz(path, m, format=fmt)
    r = read_xyz(path)
    np.testing.assert_array_equal(r.numbers, m.numbers)
    np.testing.assert_allclose(r.positions, m.positions, atol=1e-6, rtol=0)
    if fmt == "plain":
        assert np.all(r.charges == 0)
    else:
        np.testing.assert_allclose(r.charges, m.charges, atol=1e-6, rtol=0)
    assert r.name == "random thing"


def test_xyz_auto_format_and_streams():
    buf = io.StringIO()
    write_xyz(buf, _water(charges=False))
    lines = buf.getvalue().splitlines()
    assert lines[0] == "3" and lines[1] == "water"
    assert all(len(ln.split()) == 4 for ln in lines[2:])
    buf = io.StringIO()
    write_xyz(buf, _water(charges=True))
    assert all(len(ln.split()) == 5 for ln in buf.getvalue().splitlines()[2:])
    buf.seek(0)
    m = read_xyz(buf)
    np.testing.assert_allclose(m.charges, [-0.834, 0.417, 0.417])
    # binary stream
    m2 = read_xyz(io.BytesIO(buf.getvalue().encode()))
    np.testing.assert_allclose(m2.positions, m.positions)


def test_xyz_multiframe(tmp_path):
    a, b = _water(), _water().translated([0, 0, 5])
    p = tmp_path / "traj.xyz"
    write_xyz(p, [a, b])
    frames = read_xyz_frames(p)
    assert len(frames) == 2
    np.testing.assert_allclose(frames[1].positions, b.positions, atol=1e-8)
    np.testing.assert_allclose(read_xyz(p, index=-1).positions, b.positions, atol=1e-8)
    np.testing.assert_allclose(read_xyz(p, index=1).positions, b.positions, atol=1e-8)
    with pytest.raises(IndexError):
        read_xyz(p, index=2)


def test_xyz_atomic_number_column_and_case():
    text = "3\ncomment\n8 0 0 0\n1 0 0.96 0\nh 0.96 0 0\n"
    m = read_xyz(io.StringIO(text))
    assert m.numbers.tolist() == [8, 1, 1]
    assert m.name == "comment"


def test_extxyz_properties_order_and_charge_names():
    text = (
        "2\n"
        'Lattice="10 0 0 0 10 0 0 0 10" Properties=initial_charges:R:1:species:S:1:'
        'forces:R:3:pos:R:3 pbc="T T T" energy=-1.5\n'
        "-0.5 Cl 9 9 9 0.0 0.0 1.0\n"
        "0.5  Na 8 8 8 1.0 2.0 3.0\n"
    )
    m = read_xyz(io.StringIO(text))
    assert m.symbols == ["Cl", "Na"]
    np.testing.assert_allclose(m.positions, [[0, 0, 1], [1, 2, 3]])
    np.testing.assert_allclose(m.charges, [-0.5, 0.5])
    for qname in ("charges", "charge", "q"):
        t = f"1\nProperties=species:S:1:pos:R:3:{qname}:R:1\nO 1 2 3 -0.25\n"
        assert read_xyz(io.StringIO(t)).charges[0] == -0.25
    # no charge column: zeros
    t = "1\nProperties=species:S:1:pos:R:3\nO 1 2 3\n"
    assert read_xyz(io.StringIO(t)).charges[0] == 0.0
    # atomic numbers in an extxyz Z column
    t = "1\nProperties=Z:I:1:pos:R:3\n8 1 2 3\n"
    assert read_xyz(io.StringIO(t)).numbers[0] == 8


@pytest.mark.parametrize(
    "text, line, match",
    [
        ("abc\ncomment\nH 0 0 0\n", 1, "integer"),
        ("3\ncomment\nO 0 0 0\nH 0 0 1\n", 5, "truncated"),
        ("2\ncomment\nO 0 0 0\nH 0 0\n", 4, "columns"),
        ("2\ncomment\nO 0 0 0\nH 0 x 1\n", 4, "'x'"),
        ("2\ncomment\nO 0 0 0\nXq 0 0 1\n", 4, "'Xq'"),
        ("2\ncomment\nO 0 0 0 0.1\nH 0 0 1 abc\n", 4, "'abc'"),
        ("2\ncomment\nO 0 0 0\nH 0 nan 1\n", 4, "non-finite"),
        ("2\ncomment\nO 0 0 0\nH 0 inf 1\n", 4, "non-finite"),
        ("1\ncomment\nO 0 0 0\n2\nc\nH 0 0 0\n", 7, "truncated"),
        ("2\n", 2, "comment"),
        ("1\nProperties=pos:R:3\n0 0 0\n", 2, "species"),
        ("-1\nc\n", 1, "negative"),
    ],
)
def test_xyz_malformed(tmp_path, text, line, match):
    p = tmp_path / "bad.xyz"
    p.write_text(text)
    with pytest.raises(XYZFormatError, match=match) as ei:
        read_xyz_frames(p)
    msg = str(ei.value)
    assert "bad.xyz" in msg
    assert f"line {line}" in msg


def test_xyz_unknown_element_names_symbol(tmp_path):
    p = tmp_path / "bad.xyz"
    p.write_text("2\n\nC 0 0 0\nQz 1 0 0\n")
    with pytest.raises(XYZFormatError, match=r"bad\.xyz, line 4: unknown element 'Qz'"):
        read_xyz(p)


def test_xyz_empty_and_zero_atoms(tmp_path):
    p = tmp_path / "empty.xyz"
    p.write_text("")
    with pytest.raises(XYZFormatError, match="empty.xyz"):
        read_xyz(p)
    p.write_text("\n  \n")
    with pytest.raises(XYZFormatError):
        read_xyz(p)
    p.write_text("0\ncomment\n")
    with pytest.raises(ValueError, match="no atoms"):
        read_xyz(p)


# ---------------------------------------------------------------------------- RDKit
@pytest.mark.parametrize("charges", ["mmff", "gasteiger"])
@pytest.mark.parametrize(
    "smiles, n, formula",
    [("c1ccccc1", 12, "C6H6"), ("CCO", 9, "C2H6O"), ("CC(=O)N", 9, "C2H5NO")],
)
def test_from_smiles(smiles, n, formula, charges):
    m = mm.from_smiles(smiles, charges=charges, seed=0)
    assert len(m) == n and m.formula == formula
    assert m.name == smiles
    assert abs(m.charges.sum()) < 1e-3
    assert np.any(m.charges != 0)
    d = _pairwise(m.positions) + np.eye(n) * 10
    assert d.min() > 0.9  # sane geometry: no overlapping atoms (Å)
    m2 = mm.from_smiles(smiles, charges=charges, seed=0, name="x")
    np.testing.assert_allclose(m2.positions, m.positions)  # deterministic with a seed
    assert m2.name == "x"


def test_from_smiles_charged_and_invalid():
    m = mm.from_smiles("CC(=O)[O-]", charges="mmff")
    assert m.charges.sum() == pytest.approx(-1.0, abs=1e-3)
    for bad in ("C1CC", "not a smiles", "C(C)(C)(C)(C)C", ""):
        with pytest.raises(ValueError) as ei:
            mm.from_smiles(bad)
        assert repr(bad) in str(ei.value)
    with pytest.raises(ValueError):
        mm.from_smiles("CCO", charges="bogus")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- camphor
def _cip_labels(mol) -> list[tuple[int, str]]:
    from rdkit import Chem

    return Chem.FindMolChiralCenters(mol, includeUnassigned=True, useLegacyImplementation=False)


def test_camphor_cip_labels():
    from rdkit import Chem

    assert _cip_labels(Chem.MolFromSmiles(mm.CAMPHOR_SMILES)) == [(1, "S"), (4, "S")]
    assert _cip_labels(Chem.MolFromSmiles(MIRROR_CAMPHOR)) == [(1, "R"), (4, "R")]


def test_camphor_shipped_geometry():
    m = mm.camphor()
    assert len(m) == 27 and m.formula == "C10H16O"
    assert m.name == "1S-camphor"
    assert abs(m.charges.sum()) < 1e-3 and np.any(m.charges != 0)
    assert m.charges[10] < -0.4  # carbonyl O (MMFF94)
    d = _pairwise(m.positions)[np.triu_indices(27, 1)]
    assert d.min() > 0.9  # Å; shortest is a C-H bond (~1.09 Å)
    m.positions[0] = 0.0  # camphor() returns a fresh copy each time
    assert not np.all(mm.camphor().positions[0] == 0)


def _stereo_from_xyz(positions: np.ndarray, smiles: str) -> list[tuple[int, str]]:
    from rdkit import Chem
    from rdkit.Geometry import Point3D

    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    conf = Chem.Conformer(mol.GetNumAtoms())
    for i, p in enumerate(positions.tolist()):
        conf.SetAtomPosition(i, Point3D(*p))
    mol.RemoveAllConformers()
    mol.AddConformer(conf, assignId=True)
    for a in mol.GetAtoms():  # forget the SMILES stereo; take it from 3D only
        a.SetChiralTag(Chem.ChiralType.CHI_UNSPECIFIED)
    Chem.AssignStereochemistryFrom3D(mol)
    return _cip_labels(mol)


def test_camphor_geometry_chirality():
    m = mm.camphor()
    from rdkit import Chem

    ref = Chem.AddHs(Chem.MolFromSmiles(mm.CAMPHOR_SMILES))
    assert [a.GetAtomicNum() for a in ref.GetAtoms()] == m.numbers.tolist()
    assert _stereo_from_xyz(m.positions, mm.CAMPHOR_SMILES) == [(1, "S"), (4, "S")]
    mirrored = m.positions * np.array([-1.0, 1.0, 1.0])
    assert _stereo_from_xyz(mirrored, mm.CAMPHOR_SMILES) == [(1, "R"), (4, "R")]
    # a proper rotation keeps the handedness
    rz = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    assert _stereo_from_xyz(m.rotated(rz).positions, mm.CAMPHOR_SMILES) == [(1, "S"), (4, "S")]

    # independent of RDKit's perception: signed volume at C1 (atom 1) vs a fresh embedding
    def signed_volume(pos: np.ndarray) -> float:
        c, a, b, d = pos[1], pos[0], pos[2], pos[9]  # C1: methyl, C6, C2(=O)
        return float(np.dot(a - c, np.cross(b - c, d - c)))

    fresh = mm.from_smiles(mm.CAMPHOR_SMILES, seed=7)
    assert np.sign(signed_volume(m.positions)) == np.sign(signed_volume(fresh.positions))
    assert np.sign(signed_volume(mirrored)) != np.sign(signed_volume(fresh.positions))


def test_estimate_charges_from_geometry_alone():
    plain = Molecule(camphor().numbers, camphor().positions)  # as a plain .xyz: no charges
    estimated = estimate_charges(plain)
    assert not np.any(plain.charges) and abs(estimated.charges.sum()) < 1e-9
    oxygen = int(np.flatnonzero(estimated.numbers == 8)[0])
    assert estimated.charges[oxygen] == estimated.charges.min() < -0.2  # the carbonyl O
    np.testing.assert_array_equal(estimated.positions, plain.positions)
    with pytest.raises(ValueError, match="could not perceive the bonds"):
        estimate_charges(Molecule([6], [[0.0, 0.0, 0.0]]))
