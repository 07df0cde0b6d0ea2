"""``afmkit match``: one stack, a directory of published files, methods, bad input (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from afmkit import cli
from afmkit.experiments.published import camphor_standin, write_published_format

ROOT = Path(__file__).resolve().parents[1]
N_ORIENTATIONS = "6"  # a tiny library: ≈ 10 s to build once per module


@pytest.fixture(scope="module")
def stacks() -> dict[int, np.ndarray]:
    return camphor_standin()


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One library cache for the module: built by the first matching test, then reused."""
    return tmp_path_factory.mktemp("match-library")


def _args(inp: Path, out: Path, library_dir: Path, *extra: str) -> list[str]:
    return [
        "match", str(inp), "--out", str(out), "--n-orientations", N_ORIENTATIONS,
        "--library-dir", str(library_dir), *extra,
    ]  # fmt: skip


def _check_result(result: dict, method: str, top_k: int) -> None:
    assert result["method"] == method
    assert 0.0 <= result["confidence"] <= 1.0
    assert isinstance(result["ambiguous"], bool)
    assert result["verdict"].startswith("confidence ")
    assert len(result["matches"]) == top_k
    assert [m["rank"] for m in result["matches"]] == list(range(1, top_k + 1))
    for m in result["matches"]:
        assert np.allclose(np.linalg.det(m["rotation"]), 1.0, atol=1e-4)
        assert np.isfinite(m["score"])


def _check_header(doc: dict, method: str) -> None:
    assert doc["molecule"] == "camphor"
    assert doc["n_orientations"] == int(N_ORIENTATIONS)
    assert doc["method"] == method
    assert doc["note"] == cli.MATCH_NOTE
    assert "no ground truth" in doc["note"]


# --------------------------------------------------------------------------------------------
# fast: parser and input reading (no model, no library)
# --------------------------------------------------------------------------------------------
def test_method_choices_follow_matching() -> None:
    from afmkit.experiments import matching

    action = next(
        a for a in cli.build_parser()._subparsers._group_actions[0].choices["match"]._actions
        if a.dest == "method"
    )  # fmt: skip
    assert tuple(action.choices) == matching.METHODS
    assert matching.DEFAULT_METHOD in action.choices


def test_cli_import_stays_light() -> None:
    code = (
        "import sys, afmkit.cli; afmkit.cli.build_parser(); "
        "heavy = [m for m in ('afmkit.experiments.matching', 'tensorflow', 'keras') "
        "if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_single_file_axis_orders(tmp_path: Path, stacks: dict[int, np.ndarray]) -> None:
    s = stacks[1]
    np.save(tmp_path / "afmkit.npy", s)  # (x, y, slice) as is
    np.save(tmp_path / "published.npy", s.transpose(1, 0, 2)[None])  # (1, y, x, slice)
    (a, several_a) = cli._read_experiments(tmp_path / "afmkit.npy")
    (b, several_b) = cli._read_experiments(tmp_path / "published.npy")
    assert not several_a and not several_b
    np.testing.assert_array_equal(a["afmkit"], s)
    np.testing.assert_array_equal(b["published"], s)


def test_slice_heights_argument() -> None:
    args = cli.build_parser().parse_args(
        ["match", "x.npy", "--out", "r.json", "--slice-heights", "1.4, 1.2,0"]
    )
    np.testing.assert_allclose(args.slice_heights, [1.4, 1.2, 0.0])


# --------------------------------------------------------------------------------------------
# bad input: exit status 2, one line on stderr, no JSON
# --------------------------------------------------------------------------------------------
def _expect_bad(capsys: pytest.CaptureFixture[str], argv: list[str], out: Path, *words: str):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("afmkit match: "), err
    assert "\n" not in err and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    assert not out.exists()
    assert not list(out.parent.glob(".*.tmp-*"))


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    _expect_bad(capsys, _args(tmp_path / "nope.npy", out, tmp_path), out, "no such file")


def test_nan_stack(tmp_path, stacks, capsys: pytest.CaptureFixture[str]) -> None:
    s = stacks[1].copy()
    s[3, 4, 5] = np.nan
    np.save(tmp_path / "nan.npy", s)
    out = tmp_path / "r.json"
    _expect_bad(capsys, _args(tmp_path / "nan.npy", out, tmp_path), out, "NaN")


def test_wrong_shapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    out = tmp_path / "r.json"
    np.save(tmp_path / "small.npy", rng.normal(size=(64, 64, 10)).astype(np.float32))
    _expect_bad(capsys, _args(tmp_path / "small.npy", out, tmp_path), out, "64 × 64", "128")
    np.save(tmp_path / "batch.npy", rng.normal(size=(2, 128, 128, 10)).astype(np.float32))
    _expect_bad(capsys, _args(tmp_path / "batch.npy", out, tmp_path), out, "(2, 128, 128, 10)")
    (tmp_path / "text.npy").write_text("not an array")
    _expect_bad(capsys, _args(tmp_path / "text.npy", out, tmp_path), out, "text.npy")
    (tmp_path / "empty").mkdir()
    _expect_bad(capsys, _args(tmp_path / "empty", out, tmp_path), out, "no experiment files")


def test_unreadable_xyz(tmp_path, stacks, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "one.npy", stacks[1])
    xyz = tmp_path / "bad.xyz"
    xyz.write_text("3\ncomment\nC 0 0\n")
    out = tmp_path / "r.json"
    argv = _args(tmp_path / "one.npy", out, tmp_path, "--molecule", str(xyz))
    _expect_bad(capsys, argv, out, "bad.xyz")
    argv = _args(tmp_path / "one.npy", out, tmp_path, "--molecule", str(tmp_path / "no.xyz"))
    _expect_bad(capsys, argv, out, "no.xyz")


def test_unknown_method_is_an_argparse_error(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.json"
    with pytest.raises(SystemExit) as exc:
        cli.main(_args(tmp_path / "x.npy", out, tmp_path, "--method", "magic"))
    assert exc.value.code == 2
    assert "invalid choice: 'magic'" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_molecule_too_large_for_the_window(tmp_path, stacks, capsys) -> None:
    np.save(tmp_path / "one.npy", stacks[1])
    xyz = tmp_path / "chain.xyz"
    n = 21  # 20 × 1.5 Å = 30 Å long: does not fit the 16 Å window in every orientation
    lines = [f"C {1.5 * i:.3f} 0.000 0.000" for i in range(n)]
    xyz.write_text(f"{n}\ncarbon chain\n" + "\n".join(lines) + "\n")
    out = tmp_path / "r.json"
    argv = _args(tmp_path / "one.npy", out, tmp_path / "lib", "--molecule", str(xyz))
    _expect_bad(capsys, argv, out, "scan window")
    assert not list((tmp_path / "lib").glob("library-*"))


# --------------------------------------------------------------------------------------------
# matching (slow: builds a 6-direction library once, ≈ 10 s)
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_one_stack_json_and_png(tmp_path, stacks, library_dir, capsys) -> None:
    np.save(tmp_path / "exp.npy", stacks[1])
    out, png = tmp_path / "out" / "result.json", tmp_path / "out" / "result.png"
    argv = _args(tmp_path / "exp.npy", out, library_dir, "--top-k", "3", "--png", str(png))
    assert cli.main(argv) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    _check_header(doc, "hybrid")
    assert doc["experiment"] == "exp"
    _check_result(doc, "hybrid", 3)
    assert "experiments" not in doc
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stdout = capsys.readouterr().out
    assert "exp: confidence " in stdout and "score " in stdout
    assert len(list(library_dir.glob("library-*.npz"))) == 1
    assert not list(out.parent.glob(".*.tmp-*"))


@pytest.mark.slow
def test_directory_of_published_files(tmp_path, stacks, library_dir, capsys) -> None:
    folder = write_published_format({1: stacks[1], 3: stacks[3]}, tmp_path / "exps")
    out = tmp_path / "all.json"
    assert cli.main(_args(folder, out, library_dir, "--top-k", "2")) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    _check_header(doc, "hybrid")
    assert sorted(doc["experiments"]) == ["1", "3"]
    for result in doc["experiments"].values():
        _check_result(result, "hybrid", 2)
    lines = [line for line in capsys.readouterr().out.splitlines() if ": confidence " in line]
    assert [line.split(":")[0] for line in lines] == ["1", "3"]


@pytest.mark.slow
def test_descriptors_method_in_a_subprocess(tmp_path, stacks, library_dir) -> None:
    # the published single-file format (1, y, x, slice) through `python -m afmkit.cli`
    np.save(tmp_path / "7.npy", stacks[7].transpose(1, 0, 2)[None])
    out = tmp_path / "desc.json"
    env = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3"}
    argv = _args(tmp_path / "7.npy", out, library_dir, "--method", "descriptors")
    proc = subprocess.run(
        [sys.executable, "-m", "afmkit.cli", *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "7: confidence " in proc.stdout
    doc = json.loads(out.read_text(encoding="utf-8"))
    _check_header(doc, "descriptors")
    assert doc["experiment"] == "7"
    _check_result(doc, "descriptors", 5)
