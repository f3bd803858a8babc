"""The FailedScheduling message shape (upstream: framework/types_test.go TestFitError_Error)."""

from __future__ import annotations

import pytest

from scheduler.fiterror import Diagnosis, fit_error_message
from scheduler.framework import unresolvable, unschedulable

TAINT = "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
NOT_HELPFUL = "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."


@pytest.mark.parametrize(
    ("diagnosis", "expected"),
    [
        pytest.param(
            Diagnosis(
                {
                    "cp": unresolvable(TAINT),
                    "n1": unschedulable("Insufficient cpu"),
                    "n2": unschedulable("Insufficient cpu"),
                },
                post_filter_msg=NOT_HELPFUL[:-1],
            ),
            f"0/3 nodes are available: 1 {TAINT}, 2 Insufficient cpu. {NOT_HELPFUL}",
            id="issue-example",
        ),
        pytest.param(
            Diagnosis({"n1": unschedulable("Insufficient cpu", "Insufficient memory")}),
            "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.",
            id="several-reasons-one-node",
        ),
        pytest.param(
            Diagnosis({f"n{i}": unschedulable("Too many pods") for i in range(12)}),
            "0/12 nodes are available: 12 Too many pods.",
            id="counts",
        ),
        pytest.param(
            Diagnosis(
                {
                    "a": unresolvable("node(s) didn't match Pod's node affinity/selector"),
                    "b": unschedulable("Insufficient cpu"),
                }
            ),
            "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector.",
            id="sorted-as-strings",
        ),
        pytest.param(
            Diagnosis(pre_filter_msg="something"), "0/2 nodes are available: something.", id="pre-filter"
        ),
        pytest.param(Diagnosis(), "0/2 nodes are available:", id="no-reasons"),
    ],
)
def test_fit_error_message(diagnosis: Diagnosis, expected: str) -> None:
    n = len(diagnosis.node_to_status) or 2
    if diagnosis.node_to_status and "cp" in diagnosis.node_to_status:
        n = 3
    assert fit_error_message(n, diagnosis) == expected
