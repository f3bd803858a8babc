"""Go's ``fmt`` verbs, as far as Kubernetes error messages need them.

kubectl prints the server's messages verbatim, and those messages are built in
Go with ``fmt.Sprintf``: a name is quoted with ``%q`` (``strconv.Quote``), a bad
value is printed with ``%v`` or ``%#v``. To produce the same bytes we need the
same quoting rules, which differ from Python's ``repr`` (Go always uses double
quotes and escapes non-printable runes as ``\\xHH``, ``\\uHHHH`` or ``\\UHHHHHHHH``).

Mirrors: Go ``strconv/quote.go`` (Quote) and ``fmt/print.go`` (%v, %#v), reduced
to the value types that appear in Kubernetes objects decoded from JSON.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

_SHORT_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote(s: str) -> str:
    """Render ``s`` as Go's ``%q`` / ``strconv.Quote`` does: ``pods "x" not found``."""
    out = ['"']
    for ch in s:
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def go_float(f: float) -> str:
    """Render a float as Go's ``%v``: shortest digits, exponent form outside [1e-4, 1e6).

    Go's %v is %g with the shortest precision that round-trips; with the shortest
    precision ``strconv`` decides between the two forms as if the precision were 6
    (ftoa.go), so ``1000000.0`` prints as ``1e+06``, ``123456.0`` as ``123456``.
    """
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    sign, digits, exponent = Decimal(repr(f)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).rstrip("0") or "0"
    point = len(digits) + exponent  # position of the decimal point within ``digits``
    x = point - 1  # the exponent in d.ddd·10^x form
    minus = "-" if sign else ""
    if text == "0":
        return minus + "0"
    if x < -4 or x >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{minus}{mantissa}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{text}"
    if point >= len(text):
        return minus + text + "0" * (point - len(text))
    return f"{minus}{text[:point]}.{text[point:]}"


def go_value(value: Any) -> str:
    """Render a JSON-decoded value as Go's ``%v`` would print the typed field it came from.

    Strings are quoted (Kubernetes uses ``%q`` for string bad values), numbers and
    booleans are bare, ``None`` is ``null``. Lists and maps of strings use Go's
    ``%#v`` shapes (``[]string{"a", "b"}``, ``map[string]string{"k":"v"}``), which is
    what a typed Go field would print; anything else falls back to those shapes with
    ``interface {}`` elements, an approximation of a Go struct dump.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, list):
        elem = "string" if all(isinstance(v, str) for v in value) else "interface {}"
        return f"[]{elem}{{{', '.join(go_value(v) for v in value)}}}"
    if isinstance(value, dict):
        elem = "string" if all(isinstance(v, str) for v in value.values()) else "interface {}"
        items = ", ".join(f"{go_quote(str(k))}:{go_value(value[k])}" for k in sorted(value))
        return f"map[string]{elem}{{{items}}}"
    return str(value)
