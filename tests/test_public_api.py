"""The documented public API (DESIGN.md §2) works unchanged after the move into layers.

Each public name is importable from its documented place, is the very object that lives in its
layer, and importing the re-export modules is silent (no deprecation noise in the notebooks).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import afmkit

PUBLIC = {
    "afmkit": ("Molecule", "read_xyz", "write_xyz", "AFMSimulator", "SimulationParams"),
    "afmkit.molecules": ("Molecule", "read_xyz", "from_smiles", "camphor", "qm9", "cache_dir"),
    "afmkit.descriptors": ("height_map", "vdw_spheres", "atomic_disks", "es_map", "xyz_grid"),
    "afmkit.rotations": ("select_rotations",),
    "afmkit.augment": ("augment", "preprocess", "default_height_indices"),
    "afmkit.data": ("AFMDataset", "write_shards", "ShardDataset"),
    "afmkit.models": ("dsh_model", "es_model", "xyz_model", "load_pretrained"),
    "afmkit.matching": ("match", "MatchResult", "OrientationLibrary", "plot_matches"),
    "afmkit.widgets": ("ppm_panel", "lj_panel", "matching_panel", "training_monitor", "Panel"),
}

HOMES = {
    "afmkit.molecules": ("afmkit.structures.molecules", "afmkit.structures.qm9", "afmkit.fileio"),
    "afmkit.descriptors": ("afmkit.targets.descriptors",),
    "afmkit.rotations": ("afmkit.targets.rotations",),
    "afmkit.augment": ("afmkit.learn.augment",),
    "afmkit.data": ("afmkit.learn.data",),
    "afmkit.models": ("afmkit.learn.models",),
    "afmkit.matching": ("afmkit.experiments.matching", "afmkit.plotting.matching"),
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_resolve(module):
    mod = __import__(module, fromlist=["_"])
    missing = [name for name in PUBLIC[module] if not hasattr(mod, name)]
    assert not missing, f"{module} lost {missing}"


@pytest.mark.parametrize("module", sorted(HOMES))
def test_reexports_are_the_layer_objects(module):
    """Every name a re-export module offers is the same object as in its home module."""
    mod = __import__(module, fromlist=["_"])
    homes = [__import__(h, fromlist=["_"]) for h in HOMES[module]]
    for name in mod.__all__:
        home = next((h for h in homes if name in getattr(h, "__all__", ())), None)
        assert home is not None, f"{module}.{name} is in no home module's __all__"
        assert getattr(mod, name) is getattr(home, name)
    offered = {n for h in homes if h.__name__ != "afmkit.fileio" for n in h.__all__}
    assert offered <= set(mod.__all__), f"{module} misses {sorted(offered - set(mod.__all__))}"


def test_reexports_import_silently():
    code = (
        "import warnings; warnings.simplefilter('error'); "
        "import afmkit, afmkit.molecules, afmkit.descriptors, afmkit.rotations, afmkit.augment, "
        "afmkit.data, afmkit.matching, afmkit.widgets; "
        "from afmkit.widgets import ppm_panel"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Deprecat" not in out.stderr


def test_physics_panel_does_not_import_tensorflow():
    code = (
        "import sys; from afmkit.widgets import ppm_panel; import afmkit.descriptors; "
        "heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**clean, **env}, timeout=300, check=True)  # fmt: skip


def test_tensorflow_starts_quietly_after_afmkit():
    """No native start-up chatter on stderr (Jupyter shows it as red boxes); the level is set."""
    fit = ("import afmkit, os, numpy as np\n"
           "from afmkit.learn import losses, models\n"
           "m = models.build_model('xyz', input_shape=(32, 32, 10))\n"
           "m.compile(optimizer='adam', **losses.compile_args('xyz'))\n"
           "c = np.zeros((2, 4, 4, 2), 'float32'); c[..., 1] = 1\n"
           "m.fit(np.random.rand(2, 32, 32, 10).astype('float32'),\n"
           "      (c, np.zeros((2, 4, 4, 3), 'float32')), epochs=1, verbose=0)\n"
           "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])")  # fmt: skip
    out = _python(fit)  # grappler's "remapper failed" used to appear in every first fit
    assert out.stdout.strip() == "3"
    assert out.stderr == "", out.stderr
    mine = _python("import afmkit, os; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])",
                   TF_CPP_MIN_LOG_LEVEL="0")  # fmt: skip
    assert mine.stdout.strip() == "0"  # the user's choice stands


def test_import_log_filter_keeps_what_is_not_benign():
    text = ("I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on. You may see\n"
            "E0000 00:00:1.0 1 something.cc:1] a real problem\n"
            "I0000 00:00:1.0 1 cudart_stub.cc:31] Could not find cuda drivers on your machine\n"
            )  # fmt: skip
    assert afmkit.filter_import_log(text) == "E0000 00:00:1.0 1 something.cc:1] a real problem\n"
