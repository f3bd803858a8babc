"""Label and field selectors: parse once, then match many objects quickly.

A *label selector* (``?labelSelector=``) is an AND of requirements over an
object's ``metadata.labels``::

    app=web              app==web           tier!=db
    env in (prod,qa)     env notin (dev)    release     !canary
    replicas>1           replicas<5         (integers, rarely used)

A *field selector* (``?fieldSelector=``) is an AND of ``field=value``,
``field==value`` or ``field!=value`` terms over a fixed, per-kind set of fields
(see ``field_labels.py``); in a value, ``\\,`` ``\\=`` and ``\\\\`` escape the
separators.

Parsing returns a ``Selector``: call it with a dict (labels, or the object's field
set) to test a match. Parse errors raise ``SelectorError`` carrying upstream's
exact message; the API server answers those with 400 BadRequest.

Mirrors: k8s.io/apimachinery/pkg/labels/selector.go (lexer, parser, Requirement),
pkg/apis/meta/v1/helpers.go (LabelSelectorAsSelector), pkg/fields/selector.go.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from apimachinery import field_errors as fe
from apimachinery import validation
from apimachinery.goformat import go_quote

Predicate = Callable[[Mapping[str, str]], bool]

_INTEGER: Final = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.ParseInt accepts


class SelectorError(ValueError):
    """A selector that does not parse or validate; ``str(err)`` is upstream's message."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One condition on one key: ``key``, an operator (``=``, ``in``, ``exists``, ...) and values."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        op = self.operator
        if op in ("in", "=", "=="):
            return value is not None and value in self.values
        if op in ("notin", "!="):
            return value is None or value not in self.values
        if op == "exists":
            return value is not None
        if op == "!":
            return value is None
        # gt / lt: both sides must parse as integers, otherwise no match.
        if value is None or not _INTEGER.fullmatch(value) or not _INTEGER.fullmatch(self.values[0]):
            return False
        have, want = int(value), int(self.values[0])
        return have > want if op == "gt" else have < want

    def __str__(self) -> str:
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return "!" + self.key
        values = ",".join(sorted(self.values)) if len(self.values) > 1 else self.values[0]
        if self.operator in ("in", "notin"):
            return f"{self.key} {self.operator} ({values})"
        symbol = {"gt": ">", "lt": "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{values}"


class Selector:
    """An AND of requirements; ``selector(labels)`` tells whether they all hold."""

    __slots__ = ("requirements",)

    def __init__(self, requirements: Sequence[Requirement] = ()) -> None:
        self.requirements = tuple(sorted(requirements, key=lambda r: r.key))

    def __call__(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        """True when the selector matches everything."""
        return not self.requirements

    def __str__(self) -> str:
        return ",".join(map(str, self.requirements))

    def __repr__(self) -> str:
        return f"Selector({str(self)!r})"


def everything() -> Selector:
    return Selector()


class _Nothing(Selector):
    """The selector that matches no object (a LabelSelector of nil converts to it)."""

    def __call__(self, labels: Mapping[str, str] | None) -> bool:
        return False

    def empty(self) -> bool:
        return False


NOTHING: Final[Selector] = _Nothing()

# --- building requirements (NewRequirement) -------------------------------------------

_BINARY_OPERATORS: Final = ("in", "notin", "=", "==", "!=", "gt", "lt")
_VALID_OPERATORS: Final = (*_BINARY_OPERATORS, "exists", "!")


def new_requirement(
    key: str, operator: str, values: Sequence[str], path: fe.Path | None = None
) -> Requirement:
    """Validate one requirement; errors are field errors under ``path`` (``key``, ``values[i]``)."""
    base = path if path is not None else fe.Path()
    errs: list[fe.FieldError] = []
    if key_errs := validation.is_qualified_name(key):
        errs.append(fe.invalid(base.child("key"), key, "; ".join(key_errs)))
    vals = list(values)
    values_path = base.child("values")
    if operator in ("in", "notin"):
        if not vals:
            errs.append(
                fe.invalid(values_path, vals, "for 'in', 'notin' operators, values set can't be empty")
            )
    elif operator in ("=", "==", "!="):
        if len(vals) != 1:
            errs.append(fe.invalid(values_path, vals, "exact-match compatibility requires one single value"))
    elif operator in ("exists", "!"):
        if vals:
            errs.append(
                fe.invalid(values_path, vals, "values set must be empty for exists and does not exist")
            )
    elif operator in ("gt", "lt"):
        if len(vals) != 1:
            errs.append(
                fe.invalid(values_path, vals, "for 'Gt', 'Lt' operators, exactly one value is required")
            )
        for i, v in enumerate(vals):
            if not _INTEGER.fullmatch(v):
                detail = "for 'Gt', 'Lt' operators, the value must be an integer"
                errs.append(fe.invalid(values_path.index(i), v, detail))
    else:
        errs.append(fe.not_supported(base.child("operator"), operator, _VALID_OPERATORS))
    for i, v in enumerate(vals):
        if value_errs := validation.is_valid_label_value(v):
            errs.append(fe.invalid(values_path.index(i).key(key), v, "; ".join(value_errs)))
    if errs:
        raise SelectorError(fe.aggregate_message(errs))
    return Requirement(key, operator, tuple(vals))


# --- the label selector lexer ---------------------------------------------------------

_SPECIAL: Final = frozenset("=!(),><")
_WHITESPACE: Final = frozenset(" \t\r\n")
_TOKENS: Final = {")": ")", ",": ",", "!": "!", "==": "==", "=": "=", ">": ">", "in": "in",
                  "<": "<", "!=": "!=", "notin": "notin", "(": "("}  # fmt: skip
_IDENT: Final = "ident"
_END: Final = "end"


def _lex(text: str) -> list[tuple[str, str]]:
    """Split a selector into (token, literal) pairs; ``in``/``notin`` are keywords here."""
    items: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _WHITESPACE:
            i += 1
        if i >= n:
            items.append((_END, ""))
            return items
        start = i
        if text[i] in _SPECIAL:
            # Longest run of special symbols that is still a token ("!=" rather than "!").
            token = ""
            while i < n and text[i] in _SPECIAL and text[start : i + 1] in _TOKENS:
                token = text[start : i + 1]
                i += 1
            items.append((_TOKENS[token], token))
        else:
            while i < n and text[i] not in _SPECIAL and text[i] not in _WHITESPACE:
                i += 1
            word = text[start:i]
            items.append((_TOKENS.get(word, _IDENT), word))


class _Parser:
    """Recursive descent over the token list, as upstream's Parser."""

    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def peek(self, values: bool = True) -> tuple[str, str]:
        tok, lit = self.items[self.pos]
        return (_IDENT if values and tok in ("in", "notin") else tok), lit

    def take(self, values: bool = True) -> tuple[str, str]:
        item = self.peek(values)
        self.pos += 1
        return item

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            tok, lit = self.peek()
            if tok == _END:
                return requirements
            if tok not in (_IDENT, "!"):
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self.requirement())
            except SelectorError as err:
                raise SelectorError(f"unable to parse requirement: {err}") from None
            tok, lit = self.take()
            if tok == _END:
                return requirements
            if tok != ",":
                raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            tok, lit = self.peek()
            if tok not in (_IDENT, "!"):
                raise SelectorError(f"found '{lit}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        negated = self.peek()[0] == "!"
        if negated:
            self.take()
        tok, key = self.take()
        if tok != _IDENT:
            raise SelectorError(f"found '{key}', expected: identifier")
        if key_errs := validation.is_qualified_name(key):
            # Upstream validates against a nil field path, which prints as "<nil>".
            raise SelectorError(str(fe.invalid("<nil>", key, "; ".join(key_errs))))
        if negated or self.peek()[0] in (_END, ","):
            return new_requirement(key, "!" if negated else "exists", [])
        tok, lit = self.take(values=False)
        operator = {"=": "=", "==": "==", "!=": "!=", "in": "in", "notin": "notin", ">": "gt", "<": "lt"}.get(
            tok
        )
        if operator is None:
            raise SelectorError(f"found '{lit}', expected: in, notin, =, ==, !=, gt, lt")
        values = self.value_set() if operator in ("in", "notin") else self.exact_value()
        return new_requirement(key, operator, sorted(values))

    def value_set(self) -> set[str]:
        tok, lit = self.take()
        if tok != "(":
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self.peek()
        if tok == ")":
            self.take()
            return {""}
        if tok not in (_IDENT, ","):
            raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")
        values: set[str] = set()
        while True:
            tok, lit = self.take()
            if tok == _IDENT:
                values.add(lit)
                tok2, lit2 = self.peek()
                if tok2 == ")":
                    self.take()
                    return values
                if tok2 != ",":
                    raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            elif tok == ",":
                # Empty items: "(,a)", "(a,)" and "(a,,b)" all contain the empty value.
                if not values or self.peek()[0] in (")", ","):
                    values.add("")
                if self.peek()[0] == ")":
                    self.take()
                    return values
            else:
                raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        if self.peek()[0] in (_END, ","):
            return {""}
        tok, lit = self.take()
        if tok == _IDENT:
            return {lit}
        raise SelectorError(f"found '{lit}', expected: identifier")


def parse_label_selector(text: str) -> Selector:
    """Parse ``?labelSelector=`` text (labels.Parse); an empty string selects everything."""
    return Selector(_Parser(text).parse())


def selector_from_set(labels: Mapping[str, str] | None) -> Selector:
    """The selector matching exactly these labels (``labels.SelectorFromSet``), unvalidated."""
    return Selector([Requirement(k, "=", (v,)) for k, v in (labels or {}).items()])


_EXPRESSION_OPERATORS: Final = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def from_label_selector(label_selector: Mapping[str, Any] | None) -> Selector:
    """Convert a ``metav1.LabelSelector`` (``matchLabels`` + ``matchExpressions``).

    As ``LabelSelectorAsSelector``: ``None`` matches nothing, ``{}`` matches
    everything; an unknown operator raises ``"<op>" is not a valid label selector operator``.
    """
    if label_selector is None:
        return NOTHING
    requirements = []
    for key, value in (label_selector.get("matchLabels") or {}).items():
        requirements.append(new_requirement(key, "=", [value]))
    for expr in label_selector.get("matchExpressions") or []:
        op = expr.get("operator", "")
        if op not in _EXPRESSION_OPERATORS:
            raise SelectorError(f"{go_quote(op)} is not a valid label selector operator")
        requirements.append(
            new_requirement(expr.get("key", ""), _EXPRESSION_OPERATORS[op], expr.get("values") or [])
        )
    return Selector(requirements)


# --- field selectors (fields/selector.go) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldTerm:
    """``field=value`` (``equal=True``) or ``field!=value``."""

    field: str
    value: str
    equal: bool = True

    def __str__(self) -> str:
        value = escape_field_value(self.value)
        return f"{self.field}={value}" if self.equal else f"{self.field}!={value}"


class FieldSelector:
    """An AND of field terms; ``selector(fields)`` tests a field set. A missing field reads as ``""``."""

    __slots__ = ("terms",)

    def __init__(self, terms: Sequence[FieldTerm] = ()) -> None:
        self.terms = tuple(terms)

    def __call__(self, fields: Mapping[str, str]) -> bool:
        return all((fields.get(t.field, "") == t.value) is t.equal for t in self.terms)

    def empty(self) -> bool:
        return not self.terms

    def requires_exact_match(self, field: str) -> str | None:
        """The value ``field`` must equal, if some ``=`` term pins it (used to serve watch by name)."""
        return next((t.value for t in self.terms if t.field == field and t.equal), None)

    def transform(self, fn: Callable[[str, str], tuple[str, str]]) -> FieldSelector:
        """Rewrite each term's (field, value), e.g. to convert per-kind field labels."""
        return FieldSelector([FieldTerm(*fn(t.field, t.value), t.equal) for t in self.terms])

    def __str__(self) -> str:
        return ",".join(map(str, self.terms))


def escape_field_value(value: str) -> str:
    r"""Escape ``\``, ``,`` and ``=`` so a value survives inside a field selector."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_field_value(value: str) -> str:
    r"""Undo ``escape_field_value``; a bare ``,``/``=`` or an unknown ``\x`` is an error."""
    if not any(c in value for c in "\\,="):
        return value
    out: list[str] = []
    escaped = False
    for ch in value:
        if escaped:
            if ch not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            # Go prints the rune with %v, i.e. as its code point number.
            raise SelectorError(f"invalid field selector: unescaped character in value: {ord(ch)}")
        else:
            out.append(ch)
    if escaped:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not escaped; escapes stay in the pieces."""
    if not text:
        return []
    terms, start, escaped = [], 0, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


_TERM: Final = re.compile(r"(.*?)(!=|==|=)(.*)", re.DOTALL)


def parse_field_selector(text: str) -> FieldSelector:
    """Parse ``?fieldSelector=`` text (fields.ParseSelector); terms are sorted as upstream does."""
    terms = []
    for part in sorted(_split_terms(text)):
        if not part:
            continue
        m = _TERM.fullmatch(part)
        if m is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.groups()
        terms.append(FieldTerm(field, unescape_field_value(value), op != "!="))
    return FieldSelector(terms)
