"""Checks of scalar parameters shared by every module: one wording for every bad value."""

from __future__ import annotations

import math

import numpy as np

from .errors import InvalidParameterError

__all__ = ["check_int", "check_number"]


def check_number(name: str, value, *, allow_zero: bool = False) -> float:
    """``value`` as a finite float that is > 0 (or >= 0 with ``allow_zero``).

    Raises
    ------
    InvalidParameterError
        For a bool, a non-number, NaN, infinity, a negative value or (without ``allow_zero``)
        zero, naming the parameter.
    """
    if isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidParameterError(f"{name} must be finite and {bound}, got {number}")
    return number


def check_int(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum`` (bools and floats are refused, even 3.0).

    Raises
    ------
    InvalidParameterError
        "<name> must be an integer >= <minimum>, got <value>".
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
