"""The measured-stack container every instrument reader returns (afmkit.experiments.stack)."""

from __future__ import annotations

import numpy as np
import pytest

from afmkit.experiments.stack import ExperimentStack


def test_stack_validates_and_describes_itself():
    df = np.zeros((8, 6, 3))
    df[0, 0, 0] = np.nan
    s = ExperimentStack(df, (0.1, 0.2), heights=[0.2, 0.1, 0.0], amplitude=0.5, scan_angle=30,
                        sources=["a.sxm", "b.sxm", "c.sxm"])  # fmt: skip
    assert s.shape == (8, 6, 3) and s.n_slices == 3
    assert s.scan_size == pytest.approx((0.7, 1.0))
    assert s.nan_fraction == pytest.approx(1 / 144)
    text = s.summary()
    assert "8 × 6 px × 3 slices" in text and "A = 0.50 Å" in text and "30°" in text
    copy = s.replace(scan_angle=0.0)
    assert copy.scan_angle == 0.0 and copy.metadata is not s.metadata
    assert ExperimentStack(df, 0.1).pixel_size == (0.1, 0.1)
    for bad in (dict(df=np.zeros((4, 4))), dict(pixel_size=(0.0, 0.1)),
                dict(heights=[0.1, 0.0]), dict(amplitude=-1.0), dict(f0=np.nan)):  # fmt: skip
        kwargs = dict(df=np.zeros((4, 4, 3)), pixel_size=(0.1, 0.1)) | bad
        with pytest.raises(ValueError):
            ExperimentStack(**kwargs)
