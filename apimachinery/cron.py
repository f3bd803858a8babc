"""Cron schedules: parse a CronJob's ``spec.schedule`` and find its next activation.

``"*/15 9-17 * * mon-fri"`` means: minutes 0,15,30,45 of hours 9..17, Monday to
Friday. Each field is a comma-separated list of ``*`` (or ``?``), ``a``, ``a-b``, each
optionally ``/step``; months and weekdays also take names (``jan``, ``sun``);
``a/step`` means ``a-max/step``. Descriptors: ``@yearly`` (``@annually``),
``@monthly``, ``@weekly``, ``@daily`` (``@midnight``), ``@hourly``, and
``@every <duration>`` in Go's syntax (``@every 1h30m``, ``@every 90s``). A leading
``TZ=<zone>`` or ``CRON_TZ=<zone>`` names the zone the fields are read in (the API
server accepts it only on CronJobs that already had it; ``spec.timeZone`` is the
field for that).

Day-of-month and day-of-week combine as in classic cron: if either field starts
with ``*`` (the *star bit*) both must match, otherwise either may.

:func:`next_after` walks forward the way robfig/cron does: skip whole months that
cannot match, then days, then hours, then minutes, wrapping back to the month check
whenever a larger unit rolls over; it gives up after five years (``0 0 30 2 *``).
``@every d`` is no calendar at all (:class:`Every`, robfig's ``ConstantDelaySchedule``):
the next activation is the previous one plus ``d``, on a whole second; ``d`` is
truncated to whole seconds and is at least one second (``@every 0s`` runs every
second, as upstream).

Errors carry robfig/cron v3's words (``expected exactly 5 fields, found 4: [* * * *]``,
``failed to parse duration @every 1d: time: unknown unit "d" in duration "1d"``), which
the API server returns and the controller's ``UnparseableSchedule`` event quotes.

Mirrors: github.com/robfig/cron/v3 parser.go (ParseStandard, Parser.Parse,
normalizeFields, getRange, getField, parseDescriptor), spec.go (SpecSchedule.Next,
dayMatches) and constantdelay.go (Every, ConstantDelaySchedule.Next), which the
CronJob controller and validation use; Go's time.ParseDuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apimachinery.goformat import go_quote

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
    #: the zone of a ``TZ=`` / ``CRON_TZ=`` prefix, if any
    zone: str | None = None

    def day_matches(self, t: datetime) -> bool:
        dom_match = t.day in self.dom
        dow_match = (t.isoweekday() % 7) in self.dow
        if self.dom_star or self.dow_star:
            return dom_match and dow_match
        return dom_match or dow_match


def _int(text: str) -> int:
    """``mustParseInt``: Go's ``strconv.Atoi``, and no negative numbers."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not (digits.isascii() and digits.isdigit()):
        raise CronError(
            f"failed to parse int from {text}: strconv.Atoi: parsing {go_quote(text)}: invalid syntax"
        )
    num = int(text)
    if num < 0:
        raise CronError(f"negative number ({num}) not allowed: {text}")
    return num


def _value(text: str, names: dict[str, int]) -> int:
    """``parseIntOrName``."""
    lowered = text.lower()
    return names[lowered] if lowered in names else _int(text)


def _field(text: str, lo: int, hi: int, names: dict[str, int]) -> tuple[frozenset[int], bool]:
    """``getField`` + ``getRange``: the values of a comma-separated list, and the star bit."""
    values: set[int] = set()
    star = False
    for part in (p for p in text.split(",") if p):  # strings.FieldsFunc drops empty parts
        range_and_step = part.split("/")
        low_and_high = range_and_step[0].split("-")
        if low_and_high[0] in ("*", "?"):
            start, end, extra = lo, hi, True
        else:
            start, extra = _value(low_and_high[0], names), False
            if len(low_and_high) > 2:
                raise CronError(f"too many hyphens: {part}")
            end = _value(low_and_high[1], names) if len(low_and_high) == 2 else start
        step = 1
        if len(range_and_step) > 2:
            raise CronError(f"too many slashes: {part}")
        if len(range_and_step) == 2:
            step = _int(range_and_step[1])
            if len(low_and_high) == 1:
                end = hi  # "N/step" means "N-max/step"
            if step > 1:
                extra = False
        if start < lo:
            raise CronError(f"beginning of range ({start}) below minimum ({lo}): {part}")
        if end > hi:
            raise CronError(f"end of range ({end}) above maximum ({hi}): {part}")
        if start > end:
            raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {part}")
        if step == 0:
            raise CronError(f"step of range should be a positive number: {part}")
        values.update(range(start, end + 1, step))
        star = star or extra
    return frozenset(values), star


@dataclass(frozen=True)
class Every:
    """``@every <duration>``: robfig's ``ConstantDelaySchedule``, a whole number of seconds."""

    seconds: int
    zone: str | None = None


#: Go's time.ParseDuration units, in nanoseconds.
_UNITS = {"ns": 1, "us": 10**3, "\u00b5s": 10**3, "\u03bcs": 10**3, "ms": 10**6, "s": 10**9}
_UNITS |= {"m": 60 * 10**9, "h": 3600 * 10**9}
_MAX_DURATION = 2**63


def parse_duration(text: str) -> int:
    """Go's ``time.ParseDuration``, in nanoseconds: ``[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+``."""
    invalid = CronError(f"time: invalid duration {go_quote(text)}")
    s, neg = text, False
    if s[:1] in ("-", "+"):
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise invalid
    total = 0
    while s:
        i = 0
        while i < len(s) and s[i].isascii() and s[i].isdigit():
            i += 1
        whole, s = s[:i], s[i:]
        frac = ""
        if s[:1] == ".":
            j = 1
            while j < len(s) and s[j].isascii() and s[j].isdigit():
                j += 1
            frac, s = s[1:j], s[j:]
        if not whole and not frac:
            raise invalid  # no digits: ".s", "x"
        k = 0
        while k < len(s) and s[k] != "." and not (s[k].isascii() and s[k].isdigit()):
            k += 1
        if k == 0:
            raise CronError(f"time: missing unit in duration {go_quote(text)}")
        unit, s = s[:k], s[k:]
        if unit not in _UNITS:
            raise CronError(f"time: unknown unit {go_quote(unit)} in duration {go_quote(text)}")
        value = int(whole or "0") * _UNITS[unit]
        if frac:
            value += int(int(frac) * (_UNITS[unit] / 10 ** len(frac)))
        total += value
        if total > _MAX_DURATION:
            raise invalid
    if not neg and total > _MAX_DURATION - 1:
        raise invalid
    return -total if neg else total


def every(nanoseconds: int, zone: str | None = None) -> Every:
    """``Every``: at least one second, and whole seconds only (the rest is dropped)."""
    return Every(max(nanoseconds, 10**9) // 10**9, zone)


def parse(spec: str) -> Schedule | Every:
    """``cron.ParseStandard``: five fields, or a descriptor; no trimming, as upstream."""
    if not spec:
        raise CronError("empty spec string")
    zone = None
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        name = spec[spec.index("=") + 1 : space] if space >= 0 else spec[spec.index("=") + 1 :]
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise CronError(f"provided bad location {name}: unknown time zone {name}") from None
        zone = name
        spec = spec[space:].strip() if space >= 0 else ""
    if spec.startswith("@"):
        if spec in DESCRIPTORS:
            spec = DESCRIPTORS[spec]
        elif spec.startswith("@every "):
            try:
                return every(parse_duration(spec[len("@every ") :]), zone)
            except CronError as err:
                raise CronError(f"failed to parse duration {spec}: {err}") from None
        else:
            raise CronError(f"unrecognized descriptor: {spec}")
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    parsed = [_field(f, lo, hi, names) for f, (lo, hi, names) in zip(fields, _BOUNDS, strict=True)]
    return Schedule(
        parsed[0][0],
        parsed[1][0],
        parsed[2][0],
        parsed[3][0],
        parsed[4][0],
        dom_star=parsed[2][1],
        dow_star=parsed[4][1],
        zone=zone,
    )


def next_after(s: Schedule | Every, t: datetime) -> datetime | None:
    """The first activation strictly after ``t``: the first matching minute
    (``SpecSchedule.Next``), or ``t`` on the second plus the delay
    (``ConstantDelaySchedule.Next``)."""
    if isinstance(s, Every):
        return t.replace(microsecond=0) + timedelta(seconds=s.seconds)
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
