"""write_image says when float data on another scale would be written mostly saturated."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from unblur import ValueRangeWarning
from unblur.io import read_image, write_image


def test_mostly_saturated_integer_output_warns(tmp_path):
    counts = np.linspace(0, 900, 100, dtype=np.float32).reshape(10, 10)
    with pytest.warns(ValueRangeWarning) as record:
        write_image(tmp_path / "c.png", counts)
    assert str(record[0].message).replace(str(tmp_path) + "/", "") == (
        "'c.png': 99.0% of the values are above 1.5 (up to 900) and are written as the "
        "maximum: a uint8 PNG holds values in [0, 1]; divide the image by its peak first, "
        "or write a float .tif or .npy to keep them"
    )
    assert (read_image(tmp_path / "c.png")[0] == 1).mean() == 0.99  # what it warned about


def test_overshoot_and_float_outputs_stay_quiet(tmp_path):
    ringing = np.full((10, 10), 0.5, np.float32)
    ringing[0, 0] = 3.0  # 1 % of the values: ringing, not another scale
    ringing[1, :] = 1.2
    counts = np.linspace(0, 900, 100, dtype=np.float32).reshape(10, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_image(tmp_path / "r.png", ringing)
        write_image(tmp_path / "c.tif", counts)  # float TIFF: kept as they are
        write_image(tmp_path / "c.npy", counts)
    assert read_image(tmp_path / "c.tif")[0].max() == 900
