"""The DSH, ES and xyz CNNs and the shipped weights (public names, re-exported).

``afmkit.models.<name>`` is the documented public API; the code lives in
:mod:`afmkit.learn.models` (see ARCHITECTURE.md).
"""

from afmkit.learn.models import (
    DSH_OUTPUTS,
    ES_INPUTS,
    ES_OUTPUTS,
    INPUT_SHAPE,
    PAPER_WEIGHTS,
    PARAMETER_COUNTS,
    PRETRAINED,
    WEIGHTS_DIR,
    XYZ_OUTPUTS,
    PaperWeightsUnavailableError,
    SymmetricPadding2D,
    SymmetricPadding3D,
    XYZModel,
    build_model,
    check_input,
    dsh_model,
    es_model,
    load_paper_weights,
    load_paper_weights_if_present,
    load_pretrained,
    predict,
    symmetric_pad,
    weights_path,
    xyz_model,
)

__all__ = [
    "DSH_OUTPUTS",
    "ES_INPUTS",
    "ES_OUTPUTS",
    "INPUT_SHAPE",
    "PAPER_WEIGHTS",
    "PARAMETER_COUNTS",
    "PRETRAINED",
    "PaperWeightsUnavailableError",
    "SymmetricPadding2D",
    "SymmetricPadding3D",
    "WEIGHTS_DIR",
    "XYZModel",
    "XYZ_OUTPUTS",
    "build_model",
    "check_input",
    "dsh_model",
    "es_model",
    "load_paper_weights",
    "load_paper_weights_if_present",
    "load_pretrained",
    "predict",
    "symmetric_pad",
    "weights_path",
    "xyz_model",
]
