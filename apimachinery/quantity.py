"""Resource quantities: ``500m``, ``128Mi``, ``1.5G``, ``1e3``, parsed exactly.

A quantity is a signed decimal number followed by a suffix, and the suffix picks one
of three notations::

    binary SI   Ki Mi Gi Ti Pi Ei           2^10 ... 2^60        "128Mi" = 134217728
    decimal SI  n u m "" k M G T P E        10^-9 ... 10^18     "500m"  = 0.5
    exponent    e<int> / E<int>             10^<int>            "1e3"   = 1000

The value is kept as a :class:`fractions.Fraction`, so ``0.1`` is exactly one tenth and
sums of many requests never drift, as upstream's ``inf.Dec``/``int64Amount`` never do.
Consumers then ask for an integer in the unit they work in, rounding *up* as Go's
``Quantity.Value()`` and ``Quantity.MilliValue()`` do: the scheduler counts CPU in
millicores (``milli_value("0.0001")`` is 1) and memory in bytes.

Errors carry upstream's messages (``ErrFormatWrong``, ``ErrNumeric``, ``ErrSuffix``).

Mirrors: k8s.io/apimachinery/pkg/api/resource/quantity.go (``ParseQuantity``,
``parseQuantityString``, ``Value``, ``MilliValue``) and suffix.go.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Final

#: upstream's splitREString; quoted verbatim in the "format wrong" error.
_SPLIT_RE_STRING: Final = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"

ERR_FORMAT_WRONG: Final = f"quantities must match the regular expression '{_SPLIT_RE_STRING}'"
ERR_NUMERIC: Final = "unable to parse numeric part of quantity"
ERR_SUFFIX: Final = "unable to parse quantity's suffix"

_BINARY: Final = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL: Final = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

_NUMBER: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_EXPONENT: Final = re.compile(r"[eE][+-]?[0-9]+")


class QuantityError(ValueError):
    """A string that is not a quantity; ``str(err)`` is upstream's message."""


def _multiplier(suffix: str) -> Fraction:
    if suffix in _BINARY:
        return Fraction(2 ** _BINARY[suffix])
    if suffix in _DECIMAL:
        return Fraction(10) ** _DECIMAL[suffix]
    if _EXPONENT.fullmatch(suffix):
        return Fraction(10) ** int(suffix[1:])
    raise QuantityError(ERR_SUFFIX)


def parse_quantity(text: str | int | float) -> Fraction:
    """The exact value of a quantity (``resource.ParseQuantity``).

    JSON may carry a bare number (``"cpu": 2``); it is read as its decimal text.
    """
    if isinstance(text, bool):
        raise QuantityError(ERR_FORMAT_WRONG)
    if isinstance(text, int | float):
        text = repr(text)
    s = text.strip()
    if not s:
        raise QuantityError(ERR_FORMAT_WRONG)
    number = _NUMBER.match(s)
    if number is None:
        raise QuantityError(ERR_FORMAT_WRONG)
    digits, suffix = number.group(), s[number.end() :]
    # Go's parser would read "1.2.3" as number "1.2" and fail on the suffix ".3".
    if suffix and not re.fullmatch(r"[eEinumkKMGTP]*[-+]?[0-9]*", suffix):
        raise QuantityError(ERR_FORMAT_WRONG)
    try:
        value = Fraction(digits)
    except (ValueError, ZeroDivisionError) as err:
        raise QuantityError(ERR_NUMERIC) from err
    return value * _multiplier(suffix)


def value(text: str | int | float) -> int:
    """The quantity as an integer, rounded up (``Quantity.Value``): bytes, pods, GPUs."""
    return math.ceil(parse_quantity(text))


def milli_value(text: str | int | float) -> int:
    """The quantity in thousandths, rounded up (``Quantity.MilliValue``): millicores."""
    return math.ceil(parse_quantity(text) * 1000)
