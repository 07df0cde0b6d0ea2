"""Camphor data: the published-format loader, the download helper, and the shipped stand-in."""

from __future__ import annotations

import hashlib
import http.server
import json
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from afmkit.experiments import published
from afmkit.experiments.pseudo import make_standin, quantize
from afmkit.experiments.published import (
    DatasetUnavailableError,
    camphor_standin,
    camphor_standin_truth,
    fetch_camphor_experiments,
    load_camphor_experiments,
    write_published_format,
)
from afmkit.structures.molecules import camphor
from tests.conftest import requires_opencl


def _stacks(numbers=(1, 3, 4, 6, 7), seed=0) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {n: rng.normal(size=(128, 128, 10)).astype(np.float32) for n in numbers}


def _published_tar(tmp_path: Path, stacks: dict[int, np.ndarray]) -> Path:
    """An archive laid out like Zenodo's: afm_camphor/<n>.npy, each (1, y, x, slice)."""
    src = write_published_format(stacks, tmp_path / "src" / "afm_camphor")
    archive = tmp_path / "afm_camphor.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for f in sorted(src.glob("*.npy")):
            tar.add(f, arcname=f"afm_camphor/{f.name}")
    return archive


def test_published_format_is_transposed_on_disk_and_loaded_as_x_y(tmp_path):
    stacks = _stacks()
    folder = write_published_format(stacks, tmp_path / "exp")
    raw = np.load(folder / "3.npy")
    assert raw.shape == (1, 128, 128, 10)
    np.testing.assert_array_equal(raw[0, 5, 9], stacks[3][9, 5])  # stored (y, x): row = y
    loaded = load_camphor_experiments(folder)
    assert list(loaded) == [1, 3, 4, 6, 7]
    for n, stack in loaded.items():
        assert stack.dtype == np.float32 and stack.shape == published.CAMPHOR_STACK_SHAPE
        np.testing.assert_array_equal(stack, stacks[n])


def test_loader_reads_the_archive_directly_and_from_its_folder(tmp_path):
    stacks = _stacks((1, 7))
    archive = _published_tar(tmp_path, stacks)
    for path in (archive, archive.parent):
        loaded = load_camphor_experiments(path)
        assert list(loaded) == [1, 7]
        np.testing.assert_array_equal(loaded[7], stacks[7])


def test_loader_errors_are_clear(tmp_path):
    with pytest.raises(DatasetUnavailableError, match="missing directory.*Download"):
        load_camphor_experiments(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetUnavailableError, match="no experiment files"):
        load_camphor_experiments(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    a = np.zeros((1, 128, 128, 10), np.float32)
    a[0, 1, 2, 3] = np.nan
    np.save(bad / "1.npy", a)
    with pytest.raises(ValueError, match="1 NaN"):
        load_camphor_experiments(bad)
    np.save(bad / "1.npy", np.zeros((2, 128, 128, 10)))
    with pytest.raises(ValueError, match=r"expected \(1, 128, 128, 10\)"):
        load_camphor_experiments(bad)


def test_check_stack_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        published.check_stack(np.zeros((128, 128)))
    with pytest.raises(ValueError, match="empty"):
        published.check_stack(np.zeros((0, 128, 10)))
    with pytest.raises(ValueError, match="numeric"):
        published.check_stack(np.array([["a"]]))
    with pytest.raises(ValueError, match=r"must have shape \(128, 128, 10\)"):
        published.check_stack(np.zeros((64, 64, 10)), shape=(128, 128, 10))


def test_fetch_without_network_says_how_to_get_the_file(tmp_path):
    # port 9 (discard) on loopback is closed: the same failure as no network
    with pytest.raises(DatasetUnavailableError, match="by hand") as info:
        fetch_camphor_experiments(tmp_path, api_url="http://127.0.0.1:9/api", timeout=2,
                                  progress=False)
    assert "zenodo.org/records/10562769/files/afm_camphor.tar.gz" in str(info.value)
    assert not any(tmp_path.iterdir())  # nothing half-written left behind


class _Server:
    """A loopback HTTP server for one Zenodo-like record and its archive."""

    def __init__(self, root: Path, record: dict) -> None:
        (root / "record.json").write_text(json.dumps(record))
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
            *a, directory=str(root), **k
        )
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a, **k: None
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _serve(tmp_path: Path, md5: str | None = None):
    stacks = _stacks((1, 4))
    archive = _published_tar(tmp_path / "server", stacks)
    digest = md5 or hashlib.md5(archive.read_bytes()).hexdigest()
    server = _Server(archive.parent, {})
    record = {"files": [{"key": "afm_camphor.tar.gz", "size": archive.stat().st_size,
                         "checksum": f"md5:{digest}",
                         "links": {"self": f"{server.url}/afm_camphor.tar.gz"}}]}
    (archive.parent / "record.json").write_text(json.dumps(record))
    return server, stacks


def test_fetch_downloads_verifies_and_extracts(tmp_path):
    server, stacks = _serve(tmp_path)
    try:
        dest = fetch_camphor_experiments(tmp_path / "data", api_url=f"{server.url}/record.json",
                                         progress=False)
    finally:
        server.close()
    loaded = load_camphor_experiments(dest)
    assert list(loaded) == [1, 4]
    np.testing.assert_array_equal(loaded[4], stacks[4])
    assert sorted(p.name for p in dest.glob("*.npy")) == ["1.npy", "4.npy"]
    # a second call finds the files and does not need the network
    assert fetch_camphor_experiments(dest, api_url="http://127.0.0.1:9/x", timeout=1) == dest


def test_fetch_rejects_a_corrupt_download(tmp_path):
    server, _ = _serve(tmp_path, md5="0" * 32)
    try:
        with pytest.raises(DatasetUnavailableError, match="MD5"):
            fetch_camphor_experiments(tmp_path / "data", api_url=f"{server.url}/record.json",
                                      progress=False)
    finally:
        server.close()
    assert not list((tmp_path / "data").glob("*.npy"))


def test_standin_is_shipped_small_and_blind():
    stacks = camphor_standin()
    assert len(stacks) >= 5
    for stack in stacks.values():
        assert stack.shape == (128, 128, 10) and stack.dtype == np.float32
        assert np.isfinite(stack).all() and stack.std() > 0
    assert published.STANDIN_PATH.stat().st_size < 3e6
    with np.load(published.STANDIN_PATH) as f:
        assert "rotations" not in f.files  # the matcher's input holds no truth
    truth = camphor_standin_truth()
    assert truth.rotations.shape == (len(stacks), 3, 3)
    eye = np.einsum("nji,njk->nik", truth.rotations, truth.rotations)
    np.testing.assert_allclose(eye, np.broadcast_to(np.eye(3), eye.shape), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(truth.rotations), 1.0, atol=1e-9)
    ks = [p["k_lat"] for p in truth.params]
    assert min(ks) != max(ks)  # the tips really differ


@pytest.mark.slow
def test_standin_is_reproducible_from_its_seed():
    truth = camphor_standin_truth()
    shipped = camphor_standin()
    stacks, rotations, infos = make_standin(camphor(), 2, truth.seed)
    np.testing.assert_allclose(rotations, truth.rotations[:2], atol=1e-12)
    assert infos[0]["k_lat"] == pytest.approx(truth.params[0]["k_lat"])
    q, lo, hi = quantize(stacks)
    for i in range(2):
        remade = published._dequantize(q[i : i + 1], lo[i : i + 1], hi[i : i + 1])[0]
        r = np.corrcoef(remade.ravel(), shipped[i + 1].ravel())[0, 1]
        assert r > 0.99


def test_ppafm_standin_is_shipped_small_and_blind():
    stacks = camphor_standin(kind="ppafm")
    assert len(stacks) >= 10
    for stack in stacks.values():
        assert stack.shape == (128, 128, 10) and stack.dtype == np.float32
        assert np.isfinite(stack).all() and stack.std() > 0
    for path in (published.PPAFM_STANDIN_PATH, published.PPAFM_STANDIN_TRUTH_PATH):
        assert path.stat().st_size < 2e6, path
    with np.load(published.PPAFM_STANDIN_PATH) as f:
        assert "rotations" not in f.files  # the matcher's input holds no truth
    truth = camphor_standin_truth(kind="ppafm")
    assert truth.rotations.shape == (len(stacks), 3, 3)
    eye = np.einsum("nji,njk->nik", truth.rotations, truth.rotations)
    np.testing.assert_allclose(eye, np.broadcast_to(np.eye(3), eye.shape), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(truth.rotations), 1.0, atol=1e-9)
    assert len(truth.params) == len(stacks)
    assert all(p["simulator"].startswith("ppafm ") for p in truth.params)
    ks = [p["k_lat"] for p in truth.params]
    noise = [p["artefacts"]["noise"] for p in truth.params]
    assert min(ks) != max(ks) and min(noise) != max(noise)  # tips and artefacts really differ
    # a different set from the afmkit one, and the default kind is unchanged
    assert not np.allclose(truth.rotations[0], camphor_standin_truth().rotations[0])
    assert published.STANDIN_KINDS == ("afmkit", "ppafm")


def test_standin_kind_is_checked_and_missing_files_name_their_script(tmp_path):
    for loader in (camphor_standin, camphor_standin_truth):
        with pytest.raises(ValueError, match="afmkit, ppafm"):
            loader(kind="xtb")
        with pytest.raises(DatasetUnavailableError, match="make_camphor_ppafm_standin.py"):
            loader(tmp_path / "missing.npz", kind="ppafm")
        with pytest.raises(DatasetUnavailableError, match=r"make_camphor_standin\.py"):
            loader(tmp_path / "missing.npz")


@pytest.mark.slow
@pytest.mark.ppafm
@requires_opencl
def test_ppafm_standin_is_reproducible_from_its_seed():
    from afmkit.experiments.pseudo import make_ppafm_standin

    truth = camphor_standin_truth(kind="ppafm")
    stacks, rotations, infos = make_ppafm_standin(camphor(), 1, truth.seed)
    np.testing.assert_allclose(rotations, truth.rotations[:1], atol=1e-12)
    assert infos[0] == truth.params[0]  # tip, height, artefact strengths, simulator
    q, lo, hi = quantize(stacks)
    with np.load(published.PPAFM_STANDIN_PATH) as f:
        shipped_q, shipped_lo, shipped_hi = f["stacks_u8"][0], f["lo"][0], f["hi"][0]
    np.testing.assert_allclose(lo[0], shipped_lo, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(hi[0], shipped_hi, rtol=1e-4, atol=1e-4)
    # bit-identical on the machine that made it; another OpenCL device may round differently
    diff = np.abs(q[0].astype(int) - shipped_q.astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99, (diff.max(), (diff == 0).mean())
