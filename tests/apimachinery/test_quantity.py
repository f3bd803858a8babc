"""Table tests for apimachinery/quantity.py (upstream: api/resource/quantity_test.go)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from apimachinery import quantity
from apimachinery.quantity import ERR_FORMAT_WRONG, ERR_SUFFIX, QuantityError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("0", Fraction(0), id="zero"),
        pytest.param("1", Fraction(1), id="plain"),
        pytest.param(2, Fraction(2), id="json-int"),
        pytest.param(0.5, Fraction(1, 2), id="json-float"),
        pytest.param("500m", Fraction(1, 2), id="milli"),
        pytest.param("0.1", Fraction(1, 10), id="decimal-exact"),
        pytest.param(".5", Fraction(1, 2), id="leading-dot"),
        pytest.param("5.", Fraction(5), id="trailing-dot"),
        pytest.param("+3", Fraction(3), id="plus-sign"),
        pytest.param("-3k", Fraction(-3000), id="negative"),
        pytest.param("100n", Fraction(1, 10_000_000), id="nano"),
        pytest.param("7u", Fraction(7, 1_000_000), id="micro"),
        pytest.param("1k", Fraction(1000), id="kilo"),
        pytest.param("1M", Fraction(10**6), id="mega"),
        pytest.param("2G", Fraction(2 * 10**9), id="giga"),
        pytest.param("1T", Fraction(10**12), id="tera"),
        pytest.param("1P", Fraction(10**15), id="peta"),
        pytest.param("1E", Fraction(10**18), id="exa"),
        pytest.param("1Ki", Fraction(1024), id="kibi"),
        pytest.param("128Mi", Fraction(128 * 2**20), id="mebi"),
        pytest.param("1.5Gi", Fraction(3 * 2**29), id="gibi-fraction"),
        pytest.param("1Ti", Fraction(2**40), id="tebi"),
        pytest.param("1Ei", Fraction(2**60), id="exbi"),
        pytest.param("1e3", Fraction(1000), id="exponent"),
        pytest.param("1E3", Fraction(1000), id="exponent-upper"),
        pytest.param("12e-3", Fraction(12, 1000), id="exponent-negative"),
        pytest.param("1e+2", Fraction(100), id="exponent-plus"),
        pytest.param(" 2Gi ", Fraction(2 * 2**30), id="surrounding-space"),
    ],
)
def test_parse(text: str, expected: Fraction) -> None:
    assert quantity.parse_quantity(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", ERR_FORMAT_WRONG, id="empty"),
        pytest.param("abc", ERR_FORMAT_WRONG, id="letters"),
        pytest.param("1.2.3", ERR_FORMAT_WRONG, id="two-dots"),
        pytest.param("1Zi", ERR_FORMAT_WRONG, id="unknown-letter"),
        pytest.param("1kk", ERR_SUFFIX, id="doubled-suffix"),
        pytest.param("1Ki2", ERR_SUFFIX, id="binary-with-digits"),
        pytest.param("m", ERR_FORMAT_WRONG, id="suffix-only"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(QuantityError) as err:
        quantity.parse_quantity(text)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("text", "milli", "whole"),
    [
        pytest.param("100m", 100, 1, id="millicores-round-up-whole"),
        pytest.param("2", 2000, 2, id="cores"),
        pytest.param("0.0001", 1, 1, id="sub-milli-rounds-up"),
        pytest.param("1.5", 1500, 2, id="fractional"),
        pytest.param("1Mi", 1048576000, 1048576, id="memory"),
        pytest.param("-1500m", -1500, -1, id="negative-ceil"),
    ],
)
def test_rounding(text: str, milli: int, whole: int) -> None:
    assert quantity.milli_value(text) == milli
    assert quantity.value(text) == whole
