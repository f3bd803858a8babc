"""successPolicy: when an Indexed Job may declare success before every index succeeded.

``spec.successPolicy.rules`` (Indexed Jobs only) are tried in order; the first rule
met ends the Job as a success: condition ``SuccessCriteriaMet`` with reason
``SuccessPolicy`` and message ``Matched rules at index <i>``, the pods still running
are deleted (the leader of a leader/worker Job succeeded: the workers are no longer
needed), then ``Complete`` with the same reason. A rule is met when

* ``succeededIndexes`` only (``"0"``, ``"0-2,5"``): every one of those indexes succeeded;
* ``succeededCount`` only: at least that many indexes succeeded, whichever;
* both: at least ``succeededCount`` of those indexes succeeded.

Mirrors: pkg/controller/job/success_policy.go (matchSuccessPolicy,
matchSucceededIndexesRule).
"""

from __future__ import annotations

from typing import Any

from controllers import job_indexes as ix

REASON = "SuccessPolicy"


def _matches_indexes_rule(rule: list[ix.Interval], succeeded: list[ix.Interval], count: int | None) -> bool:
    contains = sum(
        max(0, min(r_last, s_last) - max(r_first, s_first) + 1)
        for r_first, r_last in rule
        for s_first, s_last in succeeded
    )
    return contains == ix.total(rule) if count is None else contains >= count


def match_success_policy(
    policy: dict[str, Any] | None, completions: int, succeeded: list[ix.Interval]
) -> str | None:
    """The ``SuccessCriteriaMet`` message if a rule is met, else None (``matchSuccessPolicy``)."""
    if policy is None or not succeeded:
        return None
    for index, rule in enumerate(policy.get("rules") or []):
        count = rule.get("succeededCount")
        if rule.get("succeededIndexes") is not None:
            required = ix.parse(rule["succeededIndexes"], completions)
            if not required:
                continue  # nothing below completions: cannot be parsed into a rule
            if _matches_indexes_rule(required, succeeded, None if count is None else int(count)):
                return f"Matched rules at index {index}"
        elif count is not None and ix.total(succeeded) >= int(count):
            return f"Matched rules at index {index}"
    return None
