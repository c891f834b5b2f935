"""Where the blind estimator looks (``unblur.blind.windows``): the most textured windows."""

from __future__ import annotations

import numpy as np

from unblur.blind.windows import textured_windows


def _shared(a: tuple[slice, slice], b: tuple[slice, slice]) -> int:
    rows = max(0, min(a[0].stop, b[0].stop) - max(a[0].start, b[0].start))
    cols = max(0, min(a[1].stop, b[1].stop) - max(a[1].start, b[1].start))
    return rows * cols


def _centred_texture() -> np.ndarray:
    """256 x 300 px, textured everywhere, most strongly in the middle: the best 192 px window
    is central, and no other overlaps it by a quarter or less (as on a 1024 x 700 photograph
    analysed on 512 px windows)."""
    rng = np.random.default_rng(0)
    image = 0.5 + 0.05 * rng.standard_normal((256, 300))
    image[64:256, 60:240] += 0.2 * rng.standard_normal((192, 180))
    return image


def test_the_best_window_comes_first_and_holds_the_texture():
    (rows, cols), *_ = textured_windows(_centred_texture(), 192, 2)
    assert (rows.stop - rows.start, cols.stop - cols.start) == (192, 192)
    assert rows.start == 64 and 48 <= cols.start <= 60


def test_a_larger_overlap_finds_a_second_window_where_a_quarter_finds_none():
    image = _centred_texture()
    assert len(textured_windows(image, 192, 2)) == 1
    first, second = textured_windows(image, 192, 2, overlap=0.5)
    assert first == textured_windows(image, 192, 2)[0]  # the first does not depend on it
    assert 192 * 192 / 4 < _shared(first, second) <= 192 * 192 / 2


def test_windows_that_overlap_by_a_quarter_at_most_are_kept_apart():
    rng = np.random.default_rng(1)
    image = 0.5 + 0.2 * rng.standard_normal((200, 480))
    first, second = textured_windows(image, 192, 2)
    assert _shared(first, second) <= 192 * 192 / 4
    assert textured_windows(image, 192, 2, overlap=0.5)[:1] == [first]


def test_an_image_no_larger_than_the_window_is_one_window():
    image = np.random.default_rng(2).random((120, 150))
    assert textured_windows(image, 192, 2) == [(slice(0, 120), slice(0, 150))]
