"""Cron schedules: parse the five fields and find the next matching minute.

``"*/15 9-17 * * mon-fri"`` means: minutes 0,15,30,45 of hours 9..17, Monday to
Friday. Each field is a comma-separated list of ``*`` (or ``?``), ``a``, ``a-b``, each
optionally ``/step``; months and weekdays also take names (``jan``, ``sun``);
``a/step`` means ``a-max/step``. Descriptors: ``@yearly`` (``@annually``),
``@monthly``, ``@weekly``, ``@daily`` (``@midnight``), ``@hourly``.

Day-of-month and day-of-week combine as in classic cron: if either field starts
with ``*`` (the *star bit*) both must match, otherwise either may.

:func:`next_after` walks forward the way robfig/cron does: skip whole months that
cannot match, then days, then hours, then minutes, wrapping back to the month check
whenever a larger unit rolls over; it gives up after five years (``0 0 30 2 *``).

Mirrors: github.com/robfig/cron/v3 parser.go (ParseStandard, getRange, getField,
parseDescriptor) and spec.go (SpecSchedule.Next, dayMatches), which the CronJob
controller uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MONTHS = {
    n: i
    for i, n in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
DAYS = {n: i for i, n in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_BOUNDS = [(0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, MONTHS), (0, 6, DAYS)]


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    dom: frozenset[int]
    months: frozenset[int]
    dow: frozenset[int]
    dom_star: bool
    dow_star: bool

    def day_matches(self, t: datetime) -> bool:
        dom_match = t.day in self.dom
        dow_match = (t.isoweekday() % 7) in self.dow
        if self.dom_star or self.dow_star:
            return dom_match and dow_match
        return dom_match or dow_match


def _value(text: str, names: dict[str, int]) -> int:
    lowered = text.lower()
    if lowered in names:
        return names[lowered]
    if not text.isdigit():
        raise CronError(f"failed to parse int from {text}: strconv.Atoi: parsing {text!r}: invalid syntax")
    return int(text)


def _field(text: str, lo: int, hi: int, names: dict[str, int]) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    star = False
    for part in text.split(","):
        range_part, _, step_text = part.partition("/")
        step = 1
        if range_part in ("*", "?"):
            start, end = lo, hi
            star = not step_text or step_text == "1"
        else:
            a, dash, b = range_part.partition("-")
            start = _value(a, names)
            end = _value(b, names) if dash else (hi if step_text else start)
        if step_text:
            step = _value(step_text, {})
            if step == 0:
                raise CronError(f"step of range should be a positive number: {part}")
        if start < lo:
            raise CronError(f"beginning of range ({start}) below minimum ({lo}): {part}")
        if end > hi:
            raise CronError(f"end of range ({end}) above maximum ({hi}): {part}")
        if start > end:
            raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {part}")
        values.update(range(start, end + 1, step))
    return frozenset(values), star


def parse(spec: str) -> Schedule:
    spec = spec.strip()
    if spec.startswith("@"):
        if spec not in DESCRIPTORS:
            raise CronError(f"unrecognized descriptor: {spec}")
        spec = DESCRIPTORS[spec]
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: {spec}")
    parsed = [_field(f, lo, hi, names) for f, (lo, hi, names) in zip(fields, _BOUNDS, strict=True)]
    return Schedule(
        parsed[0][0],
        parsed[1][0],
        parsed[2][0],
        parsed[3][0],
        parsed[4][0],
        dom_star=parsed[2][1],
        dow_star=parsed[4][1],
    )


def next_after(s: Schedule, t: datetime) -> datetime | None:
    """The first matching minute strictly after ``t`` (``SpecSchedule.Next``)."""
    t = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = t.year + 5
    while t.year <= limit:
        if t.month not in s.months:
            t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            continue
        if not s.day_matches(t):
            t = t.replace(hour=0, minute=0) + timedelta(days=1)
            continue
        if t.hour not in s.hours:
            t = t.replace(minute=0) + timedelta(hours=1)
            continue
        if t.minute not in s.minutes:
            t += timedelta(minutes=1)
            continue
        return t
    return None
