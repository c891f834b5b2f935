"""bfloat16 words of the ADMM's split state: the round trip, rounding, specials, and the
compiled codec against the NumPy one (bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unblur.restore import _bfloat16, _kernels

ALL_WORDS = np.arange(2**16, dtype=np.uint32).astype(np.uint16)


def _bits(values) -> np.ndarray:
    return np.asarray(values, dtype=np.uint32).view(np.float32)


def _is_nan_word(w: np.ndarray) -> np.ndarray:
    return ((w & 0x7F80) == 0x7F80) & ((w & 0x007F) != 0)


def test_decode_is_the_upper_half_of_float32():
    got = _bfloat16.decode(ALL_WORDS)
    np.testing.assert_array_equal(got.view(np.uint32), ALL_WORDS.astype(np.uint32) << 16)
    assert _bfloat16.decode(np.uint16([0x3F80, 0xC000, 0x7F80, 0xFF80])).tolist() == [
        1.0,
        -2.0,
        np.inf,
        -np.inf,
    ]


def test_representable_values_round_trip_exactly():
    words = ALL_WORDS[~_is_nan_word(ALL_WORDS)]
    np.testing.assert_array_equal(_bfloat16.encode(_bfloat16.decode(words)), words)
    values = np.float32([0.0, -0.0, 1.0, 0.5, -3.0, 1.5, 2.0**-133, 3.3895314e38])
    np.testing.assert_array_equal(_bfloat16.decode(_bfloat16.encode(values)), values)


def test_nan_stays_nan_of_its_sign_and_is_quieted():
    nan_words = ALL_WORDS[_is_nan_word(ALL_WORDS)]
    back = _bfloat16.encode(_bfloat16.decode(nan_words))
    np.testing.assert_array_equal(back, nan_words | _bfloat16.QUIET)
    # payloads only in the lower half (they would round to an infinity) and the largest
    # negative NaN (whose rounding increment wraps around 32 bits)
    words = _bfloat16.encode(_bits([0x7F800001, 0xFF800001, 0xFFFFFFFF, 0x7FC00000]))
    assert words.tolist() == [0x7FC0, 0xFFC0, 0xFFFF, 0x7FC0]
    assert np.isnan(_bfloat16.decode(words)).all()


def test_rounding_to_nearest_ties_to_even():
    cases = {
        0x3F808000: 0x3F80,  # 1 + 2^-8: a tie, to the even word 0x3F80
        0x3F818000: 0x3F82,  # a tie above an odd word: up to the even one
        0x3F808001: 0x3F81,  # just above the tie: up
        0x3F807FFF: 0x3F80,  # just below: down
        0xBF808001: 0xBF81,  # the same for negative values (magnitude rounded)
        0x7F7FFFFF: 0x7F80,  # the largest float32 rounds to infinity
        0x7F7F7FFF: 0x7F7F,  # below the midpoint to infinity: the largest bfloat16
        0x7F800000: 0x7F80,  # infinities stay
        0xFF800000: 0xFF80,
        0x00000001: 0x0000,  # subnormals round like any value (nothing flushed)
        0x00008000: 0x0000,  # a tie: to even (zero)
        0x00018000: 0x0002,  # a tie above an odd word
        0x00008001: 0x0001,  # the smallest bfloat16 subnormal
        0x007FFFFF: 0x0080,  # the largest float32 subnormal: up to the smallest normal
        0x80000000: 0x8000,  # -0
    }
    got = _bfloat16.encode(_bits(list(cases)))
    assert [hex(w) for w in got.tolist()] == [hex(w) for w in cases.values()]


@settings(max_examples=300, deadline=None)
@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_encode_picks_the_nearest_bfloat16(value):
    x = np.float32(value)
    word = int(_bfloat16.encode(np.float32([x]))[0])
    below = (int(np.float32(x).view(np.uint32)) >> 16) & 0xFFFF
    candidates = [below, below + 1]  # truncation and one word up (same sign: magnitudes)
    assert word in candidates
    decoded = _bfloat16.decode(np.uint16(candidates)).astype(np.float64)
    if np.isinf(decoded[1]):  # past the largest bfloat16: infinity stands for 2^128
        decoded[1] = np.copysign(2.0**128, decoded[1])
    errors = np.abs(decoded - np.float64(x))
    best = int(np.argmin(errors))
    if errors[0] == errors[1]:  # a tie: the even word
        assert word % 2 == 0
    else:
        assert word == candidates[best]


def test_encode_writes_into_out_and_refuses_other_dtypes():
    out = np.zeros((2, 3), np.uint16)
    values = np.float32([[1, 2, 3], [-1, 0.5, 0]])
    assert _bfloat16.encode(values, out) is out
    np.testing.assert_array_equal(_bfloat16.decode(out), values)
    with pytest.raises(TypeError, match="bfloat16 encodes float32 arrays, not float64"):
        _bfloat16.encode(np.zeros(2))
    with pytest.raises(TypeError, match="bfloat16 words are uint16, not int32"):
        _bfloat16.decode(np.zeros(2, np.int32))


@pytest.mark.skipif(not _kernels.AVAILABLE, reason="numba is not installed")
def test_compiled_codec_equals_the_numpy_codec_bit_for_bit():
    import numba

    @numba.njit
    def store(src, dst):
        _kernels._store_row(src, dst)

    @numba.njit
    def load(src, dst):
        _kernels._load_row(src, dst)

    rng = np.random.default_rng(16)
    special = [0x7F800001, 0xFF800001, 0xFFFFFFFF, 0x7F7FFFFF, 0x00008000, 0x00018000, 0x80000000]
    special += [0x3F808000, 0x3F818000, 0x7F800000, 0xFF800000, 0x007FFFFF, 0x00000001]
    bits = np.concatenate([rng.integers(0, 2**32, 2**20, dtype=np.uint32), np.uint32(special)])
    bits = np.resize(bits, (2, bits.size // 2 + 1))  # (ncomp, nx) rows, as the passes use
    values = bits.view(np.float32)
    words = np.empty(values.shape, np.uint16)
    store(values, words)
    np.testing.assert_array_equal(words, _bfloat16.encode(values))
    back = np.empty(words.shape, np.float32)
    load(words, back)
    np.testing.assert_array_equal(back.view(np.uint32), _bfloat16.decode(words).view(np.uint32))
    # other precisions are copied unchanged
    same = np.empty_like(values)
    store(values, same)
    np.testing.assert_array_equal(same.view(np.uint32), bits)


@pytest.mark.parametrize("second_order", [0.0, 0.5])
def test_block_wise_state_updates_equal_whole_grid_ones(second_order):
    """The ADMM's updates of a bfloat16 state outside its passes (the start's ``(1 - r) A x``,
    a continuation's ``m += (1 - r) A x`` and rescaling) run in blocks of rows; each block's
    differences read the two rows after it (periodically), so the words equal those of the
    whole-grid float32 computation rounded once."""
    from unblur.restore import _admm

    rng = np.random.default_rng(5)
    x = rng.random((21, 17)).astype(np.float32)  # 21 rows: blocks of 8, 8 and 5
    ncomp = 2 + (3 if second_order else 0)
    whole = _admm._stack(x, second_order, np.empty((ncomp, *x.shape), np.float32))
    m = np.zeros((ncomp, *x.shape), np.uint16)
    _admm._stack_words(x, second_order, m, -0.5, add=False)
    np.testing.assert_array_equal(m, _bfloat16.encode(whole * np.float32(-0.5)))
    before = _bfloat16.decode(m)
    _admm._stack_words(x, second_order, m, 0.25, add=True)
    np.testing.assert_array_equal(m, _bfloat16.encode(whole * np.float32(0.25) + before))
    before = _bfloat16.decode(m)
    _admm._scale_state(m, 0.3, np.dtype(np.float32))
    np.testing.assert_array_equal(m, _bfloat16.encode(before * np.float32(0.3)))
