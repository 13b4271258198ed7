"""BitNet b1.58 quantizers and input checks."""

import numpy as np
import pytest

from bitrom_char.chip.quant import (
    absmax_quantize,
    absmean_ternarize,
    check_int8,
    check_ternary,
)


def test_absmean_matches_formula():
    w = np.array([[0.9, -0.1, 0.4], [-2.0, 0.05, 0.6]], np.float32)
    wq, gamma = absmean_ternarize(w)
    expected_gamma = np.mean(np.abs(w))
    assert gamma == pytest.approx(expected_gamma, rel=1e-6)
    expected = np.clip(np.round(w / (expected_gamma + 1e-5)), -1, 1)
    assert wq.dtype == np.int8
    assert np.array_equal(wq, expected)


def test_absmax_per_token():
    x = np.array([[0.5, -1.0, 0.25], [10.0, 5.0, -2.5]], np.float32)
    xq, scale = absmax_quantize(x)
    assert np.allclose(scale, [127.0, 12.7])
    assert np.array_equal(xq[0], [64, -127, 32])
    assert np.array_equal(xq[1], [127, 64, -32])


def test_absmax_zero_token_is_zero():
    xq, scale = absmax_quantize(np.zeros((1, 4), np.float32))
    assert np.all(xq == 0)
    assert np.all(np.isfinite(scale))


def test_check_ternary_rejects_two():
    with pytest.raises(ValueError, match=r"found 2 at index \(1, 0\)"):
        check_ternary(np.array([[0, 1], [2, -1]]))


def test_check_ternary_rejects_fractions():
    with pytest.raises(ValueError, match="non-integer"):
        check_ternary(np.array([[0.5, 1.0]]))


def test_check_ternary_rejects_vector():
    with pytest.raises(ValueError, match="2-D"):
        check_ternary(np.array([0, 1, -1]))


def test_check_int8_rejects_range():
    with pytest.raises(ValueError, match=r"\[-200, 3\]"):
        check_int8(np.array([-200, 3]))


def test_check_int8_rejects_float():
    with pytest.raises(ValueError, match="dtype float"):
        check_int8(np.array([0.5]))


def test_ternarize_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        absmean_ternarize(np.array([[np.nan, 1.0]]))
