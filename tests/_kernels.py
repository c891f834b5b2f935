"""Kernels shared by the blind-estimation tests."""

from __future__ import annotations

import numpy as np


def l_shake() -> np.ndarray:
    """A 9 x 9 L-shaped camera-shake kernel: 4 px to the right, then 3 px up."""
    k = np.zeros((9, 9))
    k[4, 1:5] = 1.0
    k[2:5, 5] = 1.0
    return k / k.sum()
