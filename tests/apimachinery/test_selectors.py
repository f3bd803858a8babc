"""Label and field selectors; cases from upstream's labels/selector_test.go and fields/selector_test.go."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery import field_labels as fl
from apimachinery import selectors as s
from apimachinery.selectors import SelectorError

# (selector, labels, matches) — TestSelectorMatches / TestEverything / TestSetIsSubset style cases.
MATCH_CASES = [
    ("", {"x": "y"}, True),
    ("x=y", {"x": "y"}, True),
    ("x=y,z=w", {"x": "y", "z": "w"}, True),
    ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
    ("notin=in", {"notin": "in"}, True),
    ("x", {"x": "z"}, True),
    ("!x", {"y": "z"}, True),
    ("x>1", {"x": "2"}, True),
    ("x<1", {"x": "0"}, True),
    ("x=z", {}, False),
    ("x=y", {"x": "z"}, False),
    ("x=y,z=w", {"x": "w", "z": "w"}, False),
    ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
    ("x", {"y": "z"}, False),
    ("!x", {"x": "z"}, False),
    ("x>1", {"x": "0"}, False),
    ("x<1", {"x": "2"}, False),
    ("x>1", {"x": "a"}, False),
    ("x>1", {}, False),
    ("x in (y,z)", {"x": "z"}, True),
    ("x in (y,z)", {}, False),
    ("x notin (y,z)", {}, True),
    ("x notin (y,z)", {"x": "y"}, False),
    ("x in (,y)", {"x": ""}, True),
    ("x notin ()", {"x": ""}, False),
    ("x==y", {"x": "y"}, True),
    ("x=", {"x": ""}, True),
    (" x = y ", {"x": "y"}, True),
    ("x in (foo,,baz),y,z notin ()", {"x": "", "y": "1", "z": "2"}, True),
]


@pytest.mark.parametrize(
    ("text", "labels", "expected"), MATCH_CASES, ids=[f"{c[0]!r}-{c[2]}" for c in MATCH_CASES]
)
def test_label_selector_matches(text: str, labels: dict[str, str], expected: bool) -> None:
    assert s.parse_label_selector(text)(labels) is expected


# TestSelectorParse good inputs and their canonical String() (requirements sorted by key, values sorted).
ROUND_TRIP = [
    ("", ""),
    ("x=a,y=b,z=c", "x=a,y=b,z=c"),
    ("x!=a,y=b", "x!=a,y=b"),
    ("x=,z= ", "x=,z="),
    ("x= ,z= ", "x=,z="),
    ("!x", "!x"),
    ("x>1", "x>1"),
    ("x<7", "x<7"),
    ("x in (b,a)", "x in (a,b)"),
    ("z notin (q),  a", "a,z notin (q)"),
    ("x in ()", "x in ()"),
    ("example.com/key in (value)", "example.com/key in (value)"),
]


@pytest.mark.parametrize(("text", "canonical"), ROUND_TRIP, ids=[c[0] or "empty" for c in ROUND_TRIP])
def test_label_selector_string(text: str, canonical: str) -> None:
    assert str(s.parse_label_selector(text)) == canonical


KEY_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName' or 'my.name' or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue' or 'my_value' or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)

# TestSelectorParse bad inputs, with the message the API server returns.
PARSE_ERRORS = [
    ("x=a||y=b", f'unable to parse requirement: values[0][x]: Invalid value: "a||y": {VALUE_MSG}'),
    ("x==a==b", "found '==', expected: ',' or 'end of string'"),
    ("!x=a", "found '=', expected: ',' or 'end of string'"),
    (
        "x<a",
        'unable to parse requirement: values[0]: Invalid value: "a": '
        "for 'Gt', 'Lt' operators, the value must be an integer",
    ),
    ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("x in a)", "unable to parse requirement: found 'a' expected: '('"),
    ("x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"),
    ("x (a)", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"),
    ("x,,y", "found ',', expected: identifier after ','"),
    (",x", "found ',', expected: !, identifier, or 'end of string'"),
    ("x=a,", "found '', expected: identifier after ','"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
    ("Bad Key=x", "unable to parse requirement: found 'Key', expected: in, notin, =, ==, !=, gt, lt"),
    ("-x=1", f'unable to parse requirement: <nil>: Invalid value: "-x": {KEY_MSG}'),
    ("x=-1", f'unable to parse requirement: values[0][x]: Invalid value: "-1": {VALUE_MSG}'),
]


@pytest.mark.parametrize(("text", "message"), PARSE_ERRORS, ids=[c[0] for c in PARSE_ERRORS])
def test_label_selector_parse_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        s.parse_label_selector(text)
    assert str(info.value) == message


LABEL_SELECTOR_CASES: list[tuple[str, dict[str, Any] | None, str, dict[str, str], bool]] = [
    ("nil-matches-nothing", None, "", {}, False),
    ("empty-matches-everything", {}, "", {"a": "b"}, True),
    ("match-labels", {"matchLabels": {"foo": "bar", "baz": "blah"}}, "baz=blah,foo=bar",
     {"foo": "bar", "baz": "blah", "x": "y"}, True),
    ("expressions", {"matchExpressions": [{"key": "baz", "operator": "In", "values": ["qux", "norf"]},
                                          {"key": "foo", "operator": "NotIn", "values": ["x"]},
                                          {"key": "e", "operator": "Exists"},
                                          {"key": "d", "operator": "DoesNotExist"}]},
     "baz in (norf,qux),!d,e,foo notin (x)", {"baz": "qux", "e": ""}, True),
    ("expressions-no-match", {"matchExpressions": [{"key": "baz", "operator": "In", "values": ["qux"]}]},
     "baz in (qux)", {"baz": "x"}, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("ls", "text", "labels", "expected"),
    [c[1:] for c in LABEL_SELECTOR_CASES],
    ids=[c[0] for c in LABEL_SELECTOR_CASES],
)
def test_from_label_selector(
    ls: dict[str, Any] | None, text: str, labels: dict[str, str], expected: bool
) -> None:
    selector = s.from_label_selector(ls)
    assert str(selector) == text
    assert selector(labels) is expected


@pytest.mark.parametrize(
    ("ls", "message"),
    [
        ({"matchExpressions": [{"key": "a", "operator": "Exist"}]}, '"Exist" is not a valid label selector operator'),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
         "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"),
        ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
         'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist'),
        ({"matchLabels": {"a/b/c": "x"}},
         "key: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or "
         "'.', and must start and end with an alphanumeric character (e.g. 'MyName' or 'my.name' or '123-abc', "
         "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS "
         "subdomain prefix and '/' (e.g. 'example.com/MyName')"),
    ],
    ids=["bad-operator", "in-without-values", "exists-with-values", "bad-key"],
)  # fmt: skip
def test_from_label_selector_errors(ls: dict[str, Any], message: str) -> None:
    with pytest.raises(SelectorError) as info:
        s.from_label_selector(ls)
    assert str(info.value) == message


# --- field selectors -------------------------------------------------------------------

FIELD_CASES = [
    ("", {"a": "b"}, True),
    ("metadata.name=web", {"metadata.name": "web"}, True),
    ("metadata.name==web", {"metadata.name": "web"}, True),
    ("metadata.name!=web", {"metadata.name": "web"}, False),
    ("spec.nodeName=node1,status.phase!=Succeeded,status.phase!=Failed",
     {"spec.nodeName": "node1", "status.phase": "Running"}, True),
    ("spec.nodeName=node1,status.phase!=Succeeded,status.phase!=Failed",
     {"spec.nodeName": "node1", "status.phase": "Failed"}, False),
    ("involvedObject.namespace=", {"involvedObject.namespace": ""}, True),
    ("involvedObject.namespace=", {}, True),
    ("x=a\\,b", {"x": "a,b"}, True),
    ("x=a\\=b\\\\", {"x": "a=b\\"}, True),
    ("x=a\\,b,y=c", {"x": "a,b", "y": "c"}, True),
    ("x=a=b", {"x": "a=b"}, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "fields", "expected"), FIELD_CASES, ids=[f"{c[0]!r}-{c[2]}" for c in FIELD_CASES]
)
def test_field_selector_matches(text: str, fields: dict[str, str], expected: bool) -> None:
    if text == "x=a=b":
        with pytest.raises(SelectorError):
            s.parse_field_selector(text)
        return
    assert s.parse_field_selector(text)(fields) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a", "invalid selector: 'a'; can't understand 'a'"),
        ("x=y,a", "invalid selector: 'x=y,a'; can't understand 'a'"),
        ("x=a=b", "invalid field selector: unescaped character in value: 61"),
        ("x=a,b", "invalid selector: 'x=a,b'; can't understand 'b'"),
        ("x=a\\b", "invalid field selector: invalid escape sequence: \\b"),
        ("x=a\\", "invalid field selector: invalid escape sequence: \\"),
    ],
    ids=["no-operator", "second-term", "bare-equals", "bare-comma", "bad-escape", "trailing-backslash"],
)
def test_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        s.parse_field_selector(text)
    assert str(info.value) == message


def test_field_selector_string_and_exact_match() -> None:
    sel = s.parse_field_selector("metadata.name=a\\,b,status.phase!=Failed")
    assert str(sel) == "metadata.name=a\\,b,status.phase!=Failed"
    assert sel.requires_exact_match("metadata.name") == "a,b"
    assert sel.requires_exact_match("status.phase") is None


@pytest.mark.parametrize(
    ("group", "kind", "label", "result"),
    [
        ("", "Pod", "spec.nodeName", "spec.nodeName"),
        ("", "Pod", "spec.host", "spec.nodeName"),
        ("", "Pod", "foo", "field label not supported: foo"),
        ("", "Node", "spec.unschedulable", "spec.unschedulable"),
        ("", "Node", "metadata.namespace", "field label not supported: metadata.namespace"),
        ("", "Event", "involvedObject.uid", "involvedObject.uid"),
        ("", "Secret", "type", "type"),
        ("", "ConfigMap", "metadata.name", "metadata.name"),
        ("", "ConfigMap", "foo", '"foo" is not a known field selector: only "metadata.name", "metadata.namespace"'),
        ("apps", "Deployment", "spec.replicas",
         '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"'),
        ("batch", "Job", "status.successful", "status.successful"),
        ("batch", "Job", "foo", 'field label "foo" not supported for batchv1.Job'),
    ],
)  # fmt: skip
def test_convert_field_label(group: str, kind: str, label: str, result: str) -> None:
    try:
        assert fl.convert_field_label(group, kind, label) == result
    except SelectorError as err:
        assert str(err) == result


def test_convert_field_selector_rewrites_alias() -> None:
    sel = fl.convert_field_selector("", "Pod", s.parse_field_selector("spec.host=n1"))
    assert str(sel) == "spec.nodeName=n1"


POD = {
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {"nodeName": "node1", "restartPolicy": "Always", "schedulerName": "default-scheduler",
             "serviceAccountName": "default", "hostNetwork": True},
    "status": {"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}, {"ip": "fd00::5"}]},
}  # fmt: skip


def test_pod_fields() -> None:
    assert fl.object_fields("", "Pod", POD) == {
        "metadata.name": "web",
        "metadata.namespace": "default",
        "spec.nodeName": "node1",
        "spec.restartPolicy": "Always",
        "spec.schedulerName": "default-scheduler",
        "spec.serviceAccountName": "default",
        "spec.hostNetwork": "true",
        "status.phase": "Running",
        "status.podIP": "10.0.0.5",
        "status.podIPs": "10.0.0.5",
        "status.nominatedNodeName": "",
    }


@pytest.mark.parametrize(
    ("group", "obj", "expected"),
    [
        ("", {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "web", "uid": "u"},
              "reason": "Started", "source": {"component": "kubelet"}, "type": "Normal"},
         {"involvedObject.kind": "Pod", "involvedObject.name": "web", "involvedObject.uid": "u",
          "reason": "Started", "source": "kubelet", "type": "Normal", "reportingComponent": ""}),
        ("events.k8s.io", {"metadata": {"name": "e"}, "regarding": {"kind": "Node", "name": "n1"},
                           "reportingController": "kubelet", "reason": "Ready", "type": "Normal"},
         {"involvedObject.kind": "Node", "involvedObject.name": "n1", "reportingComponent": "kubelet",
          "source": "kubelet"}),
    ],
    ids=["core", "events.k8s.io"],
)  # fmt: skip
def test_event_fields(group: str, obj: dict[str, Any], expected: dict[str, str]) -> None:
    fields = fl.object_fields(group, "Event", obj)
    assert {k: fields[k] for k in expected} == expected
    assert fields["involvedObject.namespace"] == ""


@pytest.mark.parametrize(
    ("group", "kind", "obj", "field", "value"),
    [
        ("", "Node", {"metadata": {"name": "n"}}, "spec.unschedulable", "false"),
        ("", "Node", {"metadata": {"name": "n"}, "spec": {"unschedulable": True}}, "spec.unschedulable", "true"),
        ("", "Namespace", {"metadata": {"name": "n"}, "status": {"phase": "Active"}}, "status.phase", "Active"),
        ("", "Secret", {"metadata": {"name": "s"}, "type": "Opaque"}, "type", "Opaque"),
        ("", "Service", {"metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}}, "spec.type", "ClusterIP"),
        ("apps", "ReplicaSet", {"metadata": {"name": "r"}, "status": {"replicas": 3}}, "status.replicas", "3"),
        ("batch", "Job", {"metadata": {"name": "j"}}, "status.successful", "0"),
        ("", "ConfigMap", {"metadata": {"name": "c", "namespace": "d"}}, "metadata.namespace", "d"),
    ],
    ids=["node-default", "node-cordoned", "namespace", "secret", "service", "replicaset", "job", "configmap"],
)  # fmt: skip
def test_object_fields(group: str, kind: str, obj: dict[str, Any], field: str, value: str) -> None:
    assert fl.object_fields(group, kind, obj)[field] == value
