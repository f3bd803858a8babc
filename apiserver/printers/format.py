"""Small formatting helpers every printer shares: ages, label sets, selectors, "+ N more".

Mirrors:

* ``k8s.io/apimachinery/pkg/util/duration/duration.go`` (``HumanDuration``), the
  ``5s`` / ``3m20s`` / ``2d3h`` strings in every AGE column;
* ``translateTimestampSince``, ``layoutContainerCells`` and ``listWithMoreString`` from
  ``k8s.io/kubernetes/pkg/printers/internalversion/printers.go``;
* ``labels.FormatLabels`` and ``metav1.FormatLabelSelector`` from apimachinery.

Everything here is a pure function over plain JSON values, so each can be tested
against the upstream test tables directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

Obj = dict[str, Any]

_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60 * _US_PER_SECOND
_US_PER_HOUR = 60 * _US_PER_MINUTE


def human_duration(d: timedelta) -> str:
    """Render a duration with ~2-3 significant figures, exactly like Go's ``HumanDuration``.

    A clock skew of up to two seconds into the future still reads as ``0s``; further
    in the future is ``<invalid>``. Go truncates toward zero, so we count whole
    microseconds rather than trusting float division.
    """
    us = (d.days * 86_400 + d.seconds) * _US_PER_SECOND + d.microseconds
    seconds = -((-us) // _US_PER_SECOND) if us < 0 else us // _US_PER_SECOND
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = us // _US_PER_MINUTE
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = us // _US_PER_HOUR
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def parse_time(value: Any) -> datetime | None:
    """Parse a ``metav1.Time`` / ``MicroTime`` wire string; ``None`` for the zero time."""
    if not value or not isinstance(value, str):
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def translate_timestamp_since(value: Any, now: datetime) -> str:
    """``translateTimestampSince``: the AGE of a timestamp, ``<unknown>`` when unset."""
    when = parse_time(value)
    if when is None:
        return "<unknown>"
    return human_duration(now - when)


def format_labels(labels: dict[str, str] | None) -> str:
    """``labels.FormatLabels``: ``a=1,b=2`` sorted by key, ``<none>`` when empty."""
    text = ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))
    return text or "<none>"


class InvalidSelector(ValueError):
    """A ``LabelSelector`` that ``metav1.LabelSelectorAsSelector`` would reject."""


def label_selector_string(selector: Obj | None) -> str:
    """``LabelSelectorAsSelector(s).String()``: requirements sorted by key.

    ``nil`` selects nothing and an empty selector selects everything; both print as
    the empty string. Raises ``InvalidSelector`` where upstream returns an error.
    """
    if not selector:
        return ""
    requirements: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        requirements.append((key, f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator"), list(expr.get("values") or [])
        if op in ("In", "NotIn"):
            if not values:
                raise InvalidSelector(f"{op} requires one or more values")
            word = " in " if op == "In" else " notin "
            requirements.append((key, f"{key}{word}({','.join(sorted(values))})"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                raise InvalidSelector(f"{op} takes no values")
            requirements.append((key, key if op == "Exists" else f"!{key}"))
        else:
            raise InvalidSelector(f"{op!r} is not a valid label selector operator")
    return ",".join(text for _, text in sorted(requirements, key=lambda r: r[0]))


def format_label_selector(selector: Obj | None) -> str:
    """``metav1.FormatLabelSelector``: like the above but ``<none>`` / ``<error>``."""
    try:
        return label_selector_string(selector) or "<none>"
    except InvalidSelector:
        return "<error>"


def layout_container_cells(containers: Iterable[Obj] | None) -> tuple[str, str]:
    """``layoutContainerCells``: the CONTAINERS and IMAGES cells, comma-joined."""
    containers = list(containers or [])
    return (
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
    )


def list_with_more(items: list[str], total: int, limit: int = 3) -> str:
    """``listWithMoreString``: at most ``limit`` items then ``+ N more...``; ``<unset>`` if none."""
    text = ",".join(items[:limit])
    if total > limit:
        return f"{text} + {total - limit} more..."
    return text or "<unset>"


def join_host_port(host: str, port: int | str) -> str:
    """Go's ``net.JoinHostPort``: brackets around IPv6 literals."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def print_bool_ptr(value: bool | None) -> str:
    """``printBoolPtr``: ``True`` / ``False`` / ``<unset>``."""
    if value is None:
        return "<unset>"
    return "True" if value else "False"


def int_or_string(value: Any) -> str:
    """``intstr.IntOrString.String()``."""
    return str(value)


def rfc3339(value: Any) -> str:
    """``metav1.Time.UTC().Format(time.RFC3339)``; the zero time prints as year 1."""
    when = parse_time(value)
    if when is None:
        return "0001-01-01T00:00:00Z"
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
