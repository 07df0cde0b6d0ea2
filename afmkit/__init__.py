"""afmkit: machine learning on atomic force microscopy images.

A Probe Particle Model simulator (NumPy reference + OpenCL), molecule tools, image
descriptors, data augmentation, CNNs and experiment matching, presented as a notebook course.
The subpackages are the layers (ARCHITECTURE.md): :mod:`afmkit.structures`,
:mod:`afmkit.physics`, :mod:`afmkit.targets`, :mod:`afmkit.learn`, :mod:`afmkit.experiments`,
:mod:`afmkit.plotting`, :mod:`afmkit.widgets`.

Public names: :class:`Molecule`, :func:`read_xyz`, :func:`write_xyz`, :class:`SimulationParams`,
:class:`AFMSimulator`. Units throughout: Å, eV, e, N/m, Hz.

Importing afmkit sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless it is set, and filters the lines
TensorFlow's native libraries print while it is first imported: those that say nothing is wrong
(:data:`BENIGN_IMPORT_LOG`: oneDNN and CPU-feature notes, "no CUDA driver" on a CPU machine) are
dropped, anything else is shown. TensorFlow itself is imported only by the learning layer.
"""

import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

# TensorFlow's C++ log level, before TensorFlow is first imported, unless the user chose one:
# 3 hides its C++ log lines, which on a CPU machine are notes and benign "errors" (grappler's
# "remapper failed", oneDNN's int32 fallback) printed during every fit. Python exceptions are not
# affected; TF_CPP_MIN_LOG_LEVEL=0 shows everything when debugging a GPU set-up.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: Lines TensorFlow's native libraries print while it is imported that say nothing is wrong
#: (they bypass TF_CPP_MIN_LOG_LEVEL, and Jupyter shows them as red stderr boxes).
BENIGN_IMPORT_LOG = (
    r"WARNING: All log messages before absl::InitializeLog\(\) is called",
    r"^[IW]\d{4} .*oneDNN custom operations are on",
    r"^[IW]\d{4} .*Could not find cuda drivers on your machine",
    r"^[IW]\d{4} .*cpu_feature_guard",
    r"^To enable the following instructions: .*rebuild TensorFlow",
    r"^[EW]\d{4} .*failed call to cuInit: .*(CUDA_ERROR_NO_DEVICE|UNKNOWN ERROR \(303\))",
    r"^[IWE]\d{4} .*Unable to register cu(DNN|FFT|BLAS) factory",
    r"^[IW]\d{4} .*computation placer already registered",
)


def filter_import_log(text: str) -> str:
    """Drop the benign lines of :data:`BENIGN_IMPORT_LOG` from native stderr output.

    Parameters
    ----------
    text : str
        What TensorFlow's native libraries wrote to file descriptor 2 while it was imported.

    Returns
    -------
    str
        The other lines (errors, anything unexpected), to be shown.
    """
    keep = [line for line in text.splitlines(keepends=True)
            if line.strip() and not any(re.search(p, line) for p in BENIGN_IMPORT_LOG)]  # fmt: skip
    return "".join(keep)


class _QuietLoader(importlib.abc.Loader):
    """Import TensorFlow with file descriptor 2 captured; show what is not benign."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec):  # noqa: D102 (importlib protocol)
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:  # noqa: D102 (importlib protocol)
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile() as captured:
            os.dup2(captured.fileno(), 2)
            try:
                self.loader.exec_module(module)
                # look for GPUs now, inside the filter: on a CPU machine the CUDA probe logs a
                # cuInit error at the first TensorFlow operation otherwise
                module.config.list_physical_devices("GPU")
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                captured.seek(0)
                shown = filter_import_log(captured.read().decode("utf-8", "replace"))
                if shown:
                    sys.stderr.write(shown)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """On the first ``import tensorflow`` (by Keras or anyone), filter its native start-up log."""

    def find_spec(self, name, path=None, target=None):  # noqa: D102 (importlib protocol)
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once; and so that find_spec below finds the real package
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


if "tensorflow" not in sys.modules and not any(
    isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path
):
    sys.meta_path.insert(0, _QuietTensorFlowImport())

from afmkit.physics.simulator import AFMSimulator, SimulationParams  # noqa: E402
from afmkit.structures.molecules import Molecule, read_xyz, write_xyz  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "AFMSimulator",
    "BENIGN_IMPORT_LOG",
    "Molecule",
    "SimulationParams",
    "__version__",
    "filter_import_log",
    "read_xyz",
    "write_xyz",
]
