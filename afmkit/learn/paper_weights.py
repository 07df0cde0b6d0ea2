"""The published ASD-AFM DSH weights (Alldritt et al. 2020): download, verify, convert, compare.

The paper "Automated structure discovery in atomic force microscopy" (B. Alldritt et al.,
Sci. Adv. 6, eaay6913 (2020)) published the weights of its DSH ("descriptor") model, trained on
its light (QM9-like: H C N O F) and heavy (+ Si P S Cl Br) molecule sets, as Keras 2 HDF5 files
(``model.save_weights`` layout) in the repository SINGROUP/ASD-AFM, folder
``pretrained_weights/``, under the MIT License (Copyright (c) 2020 Surfaces and Interfaces at
the Nanoscale). afmkit pins commit :data:`ASD_AFM_COMMIT` and the sha256 of each file
(:data:`PAPER_WEIGHTS`); the files are downloaded on demand, never shipped.

Architecture. The paper's ``create_model(last_relu=[False, True, True])`` is layer for layer
afmkit's :func:`afmkit.learn.models.dsh_model` (122,811 parameters): three 3×3×3 Conv3D (4, 8,
16) with LeakyReLU(0.1) and average pools 2×2×2, 2×2×2, 2×2×1, a reshape of (16, 16, 2, 16) to
(16, 16, 32) (same row-major order), two 3×3 64-filter convs, then three decoder branches (NN
upsampling ×2 and two 16-filter convs, three times; a 1-filter output conv) in the order Atomic
Disks (no activation), vdW Spheres (ReLU), Height Map (ReLU). Its "reflective" padding
concatenates the reversed edge slices ``X[:, :1]``, i.e. mirrors *with* the edge pixel (NumPy
``symmetric``), exactly afmkit's :class:`~afmkit.learn.models.SymmetricPadding2D` /
``SymmetricPadding3D``. Keras 2 and Keras 3 store Conv kernels in the same layout
(kx, ky[, kz], in, out). So the conversion only renames: no transposition, no model variant.

Layout of the file (what :func:`read_keras2_weights` reads): root attribute ``layer_names``;
one group per layer, whose attribute ``weight_names`` lists its datasets, e.g. group
``conv2d_reflective_10`` holds ``conv2d_10/kernel:0`` (3, 3, 64, 16) and ``conv2d_10/bias:0``
(16,). Each padded convolution was a nested Keras model named ``conv3d_reflective_<k>`` /
``conv2d_reflective_<k>``, numbered in creation order: Conv3D 1–3 are the encoder; Conv2D 1–2
the latent convs, 3–9 the Atomic Disks branch, 10–16 vdW Spheres, 17–23 Height Map (each branch:
convs 1a, 1b, 2a, 2b, 3a, 3b, out).

Reading afmkit stacks (measured; see :func:`afmkit.learn.heldout.compare_models`): input
(B, 128, 128, 10) with axes (x, y, slice), last slice closest, each slice normalised
(:func:`afmkit.learn.augment.preprocess`); the models read afmkit stacks best at afmkit's default
scan height (closest lower turning point of the probe particle 2.5 Å above the top nucleus,
``SimulationParams().z_closest``).
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from afmkit.fileio import cache_dir, file_digest
from afmkit.fileio import download as download_file

__all__ = [
    "ASD_AFM_COMMIT",
    "ASD_AFM_LICENSE",
    "ASD_AFM_REFERENCE",
    "DSH_LAYER_ORDER",
    "PAPER_WEIGHTS",
    "PaperWeights",
    "PaperWeightsUnavailableError",
    "converted_path",
    "dsh_arrays",
    "fetch_paper_weights",
    "how_to_get",
    "manual_instructions",
    "paper_dir",
    "read_keras2_weights",
    "verify_file",
]

#: Commit of SINGROUP/ASD-AFM the files are pinned to.
ASD_AFM_COMMIT = "ba01605f72fc18d963db5f112638bfb5d268bdcf"
#: Licence of the published weights.
ASD_AFM_LICENSE = (
    "MIT License, Copyright (c) 2020 Surfaces and Interfaces at the Nanoscale "
    f"(https://github.com/SINGROUP/ASD-AFM/blob/{ASD_AFM_COMMIT}/LICENSE)"
)
#: The paper the weights belong to.
ASD_AFM_REFERENCE = (
    "B. Alldritt et al., Automated structure discovery in atomic force microscopy, "
    "Sci. Adv. 6, eaay6913 (2020)"
)
_RAW_URL = "https://raw.githubusercontent.com/SINGROUP/ASD-AFM/{commit}/pretrained_weights/{file}"


@dataclass(frozen=True)
class PaperWeights:
    """One published weight file.

    Parameters
    ----------
    name : str
        afmkit's name, e.g. "asd-afm-light" (what ``load_pretrained`` takes).
    filename : str
        File name in the repository (``pretrained_weights/<filename>``).
    sha256 : str
        Expected sha256 of the file (hex).
    training_set : str
        The paper's molecule set the weights were trained on ("light" or "heavy").
    """

    name: str
    filename: str
    sha256: str
    training_set: str

    @property
    def url(self) -> str:
        """Download address at the pinned commit."""
        return _RAW_URL.format(commit=ASD_AFM_COMMIT, file=self.filename)


#: The published DSH weight files, by afmkit name.
PAPER_WEIGHTS: dict[str, PaperWeights] = {
    "asd-afm-light": PaperWeights(
        "asd-afm-light",
        "model_light.h5",
        "3f5b22f280bea9205832f5ae178a9e22d7f2847de55767668c6a8a2ca6a7410d",
        "light",
    ),
    "asd-afm-heavy": PaperWeights(
        "asd-afm-heavy",
        "model_heavy.h5",
        "dcea12d707ecbda118b37005824d366c36b2d8dcc63a43faaaaf45d012fa9a44",
        "heavy",
    ),
}

_BRANCH_CONVS = ("conv_1a", "conv_1b", "conv_2a", "conv_2b", "conv_3a", "conv_3b", "conv_out")
#: afmkit DSH layer names in the order of the paper's numbering: Conv3D 1–3, then Conv2D 1–23.
DSH_LAYER_ORDER: tuple[str, ...] = (
    "conv3d_1",
    "conv3d_2",
    "conv3d_3",
    "latent_conv_1",
    "latent_conv_2",
    *(
        f"{branch}_{conv}"
        for branch in ("atomic_disks", "vdw_spheres", "height_map")
        for conv in _BRANCH_CONVS
    ),
)


class PaperWeightsUnavailableError(OSError):
    """The published weights are neither on disk nor downloadable (offline); says what to do."""


def _spec(name: str) -> PaperWeights:
    if name not in PAPER_WEIGHTS:
        raise ValueError(f"unknown published weights {name!r}; known: {sorted(PAPER_WEIGHTS)}")
    return PAPER_WEIGHTS[name]


def paper_dir() -> Path:
    """Folder of the published files and their conversions: ``<cache_dir()>/asd-afm``.

    Returns
    -------
    Path
        The folder (may not exist yet).
    """
    return cache_dir() / "asd-afm"


def converted_path(name: str) -> Path:
    """Where the converted (Keras 3, afmkit DSH) weights of ``name`` are cached.

    Parameters
    ----------
    name : str
        "asd-afm-light" or "asd-afm-heavy".

    Returns
    -------
    Path
        ``<paper_dir()>/<name>-<first 12 hex digits of the source sha256>.weights.h5``.
    """
    spec = _spec(name)
    return paper_dir() / f"{name}-{spec.sha256[:12]}.weights.h5"


def manual_instructions(name: str) -> str:
    """How to get the published file of ``name`` by hand (URL, sha256, where to put it).

    Parameters
    ----------
    name : str
        "asd-afm-light" or "asd-afm-heavy".

    Returns
    -------
    str
        Several lines of instructions.
    """
    spec = _spec(name)
    return (
        f"To use {name!r} offline, download\n  {spec.url}\n"
        f"(sha256 {spec.sha256}; {ASD_AFM_LICENSE})\n"
        f"on a machine with network and put it at\n  {paper_dir() / spec.filename}\n"
        f"or pass its location: load_pretrained({name!r}, path='.../{spec.filename}')."
    )


def how_to_get(name: str) -> str:
    """One line saying how to get the published file of ``name`` (for notebooks).

    Parameters
    ----------
    name : str
        "asd-afm-light" or "asd-afm-heavy".

    Returns
    -------
    str
        The line.
    """
    spec = _spec(name)
    return (
        f"The paper's weights {name!r} are not on this machine: run "
        f"afmkit.learn.models.load_pretrained({name!r}) once online (downloads {spec.url}), "
        f"or pass the path of a copy of {spec.filename}."
    )


def verify_file(path: str | Path, name: str) -> Path:
    """Check that ``path`` is the published file of ``name`` (sha256).

    Parameters
    ----------
    path : str or Path
        The file to check.
    name : str
        "asd-afm-light" or "asd-afm-heavy".

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If its sha256 differs (the message names the expected and the found sha256).
    """
    spec = _spec(name)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no file {path} (expected the published {spec.filename})")
    found = file_digest(path)
    if found != spec.sha256:
        raise ValueError(
            f"{path} is not the published {spec.filename} of {name!r}: sha256 {found}, "
            f"expected {spec.sha256}. Download {spec.url} again."
        )
    return path


def fetch_paper_weights(
    name: str, path: str | Path | None = None, *, download: bool = True, timeout: float = 60.0
) -> Path:
    """The verified published file of ``name``: ``path``, the cached copy, or a download.

    Parameters
    ----------
    name : str
        "asd-afm-light" or "asd-afm-heavy".
    path : str or Path, optional
        A copy the user already has; it is checked (sha256) and used as it is.
    download : bool
        Download into :func:`paper_dir` when there is no cached copy (default True).
    timeout : float
        Network timeout, s.

    Returns
    -------
    Path
        The checked file.

    Raises
    ------
    PaperWeightsUnavailableError
        No copy and the download failed or was not allowed (the message gives the URL, sha256
        and where to put the file).
    ValueError
        A file whose sha256 is not the published one (``path``, the cached copy or the download;
        a bad download or cached copy is deleted).
    FileNotFoundError
        ``path`` does not exist.
    """
    spec = _spec(name)
    if path is not None:
        return verify_file(path, name)
    local = paper_dir() / spec.filename
    if not local.is_file():
        if not download:
            raise PaperWeightsUnavailableError(
                f"the published weights {name!r} are not on this machine (download=False).\n"
                + manual_instructions(name)
            )
        try:
            download_file(spec.url, local, timeout=timeout)
        except (urllib.error.URLError, OSError) as err:
            raise PaperWeightsUnavailableError(
                f"could not download the published weights {name!r} ({err}).\n"
                + manual_instructions(name)
            ) from err
    try:
        return verify_file(local, name)
    except ValueError:
        local.unlink()  # a corrupt copy would fail every later call: remove it
        raise


# ---------------------------------------------------------------------------------------------
# reading the Keras 2 file and mapping it onto afmkit's DSH layers
# ---------------------------------------------------------------------------------------------
def _names(values: Any) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.atleast_1d(values)]


def read_keras2_weights(path: str | Path) -> dict[str, list[np.ndarray]]:
    """The weights of a Keras 2 HDF5 weights file, layer by layer.

    Reads the ``save_weights`` layout (root attribute ``layer_names``; each layer group's
    attribute ``weight_names`` names its datasets in order), also inside a full-model file's
    ``model_weights`` group.

    Parameters
    ----------
    path : str or Path
        The ``.h5`` file.

    Returns
    -------
    dict
        Layer name → list of float32 arrays in Keras order (kernel, bias), only layers with
        weights, in the file's layer order.

    Raises
    ------
    ValueError
        If the file is not HDF5 or not in the Keras 2 weights layout.
    """
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path} is not an HDF5 file: {err}") from err
    with f:
        root = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in root.attrs:
            raise ValueError(
                f"{path} is not a Keras 2 weights file (no 'layer_names' attribute); a Keras 3 "
                "'.weights.h5' file loads with model.load_weights"
            )
        out: dict[str, list[np.ndarray]] = {}
        for layer in _names(root.attrs["layer_names"]):
            group = root[layer]
            weight_names = _names(group.attrs.get("weight_names", []))
            if weight_names:
                out[layer] = [np.asarray(group[w], dtype=np.float32) for w in weight_names]
    return out


def _number(name: str) -> int:
    m = re.search(r"_(\d+)$", name)
    return int(m.group(1)) if m else -1


def dsh_arrays(path: str | Path) -> dict[str, list[np.ndarray]]:
    """The paper's DSH weights as afmkit DSH layer name → ``[kernel, bias]``.

    The paper's padded convolutions are numbered in creation order (``conv3d_reflective_<k>``,
    ``conv2d_reflective_<k>``); sorted by that number, the 3 Conv3D and 23 Conv2D layers are
    :data:`DSH_LAYER_ORDER`. Kernels keep their layout ((kx, ky[, kz], in, out) in both Keras).

    Parameters
    ----------
    path : str or Path
        A Keras 2 weights file of the paper's DSH model (:func:`read_keras2_weights`).

    Returns
    -------
    dict
        afmkit layer name (e.g. "vdw_spheres_conv_2a") → [kernel, bias] float32 arrays.

    Raises
    ------
    ValueError
        If the file does not hold exactly the paper's 3 + 23 convolutions with afmkit's shapes
        (the message names the first mismatch).
    """
    layers = read_keras2_weights(path)
    conv3d = sorted((n for n, w in layers.items() if w[0].ndim == 5), key=_number)
    conv2d = sorted((n for n, w in layers.items() if w[0].ndim == 4), key=_number)
    other = sorted(set(layers) - set(conv3d) - set(conv2d))
    if len(conv3d) != 3 or len(conv2d) != 23 or other:
        raise ValueError(
            f"{path} is not the paper's DSH model: expected 3 Conv3D and 23 Conv2D layers with "
            f"weights, found {len(conv3d)} Conv3D, {len(conv2d)} Conv2D and other layers {other}"
        )
    out: dict[str, list[np.ndarray]] = {}
    for source, target in zip(conv3d + conv2d, DSH_LAYER_ORDER, strict=True):
        weights = layers[source]
        kernel_shape = _expected_kernel(target)
        if (
            len(weights) != 2
            or weights[0].shape != kernel_shape
            or weights[1].shape != (kernel_shape[-1],)
        ):
            raise ValueError(
                f"{path}: layer {source} (→ {target}) holds {[w.shape for w in weights]}, "
                f"expected kernel {kernel_shape} and bias ({kernel_shape[-1]},)"
            )
        out[target] = weights
    return out


def _expected_kernel(layer: str) -> tuple[int, ...]:
    """Kernel shape of afmkit's default DSH layer ``layer`` (thesis Table 2)."""
    encoder = {"conv3d_1": (1, 4), "conv3d_2": (4, 8), "conv3d_3": (8, 16)}
    if layer in encoder:
        return (3, 3, 3, *encoder[layer])
    if layer == "latent_conv_1":
        return (3, 3, 32, 64)
    if layer == "latent_conv_2":
        return (3, 3, 64, 64)
    if layer.endswith("conv_1a"):
        return (3, 3, 64, 16)
    if layer.endswith("conv_out"):
        return (3, 3, 16, 1)
    return (3, 3, 16, 16)
