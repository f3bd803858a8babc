"""Name, label and ObjectMeta validation; cases from upstream's validation_test.go and objectmeta_test.go."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery import field_errors as fe
from apimachinery import validation as v
from apimachinery.field_errors import Path

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "
    r"is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name' or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name' or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
QNAME_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName' or 'my.name' or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue' or 'my_value' or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)

GOOD_LABELS = [
    "a",
    "ab",
    "abc",
    "a1",
    "a-1",
    "a--1--2--b",
    "0",
    "01",
    "012",
    "1a",
    "1-a",
    "1--a--b--2",
    "a" * 63,
]
BAD_LABELS = ["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a", "a_b",
              "1_", "_1", "1_2", " ", "a ", " a", "a b", "1 ", " 1", "1 2", "a\n"]  # fmt: skip


@pytest.mark.parametrize("value", GOOD_LABELS)
def test_dns1123_label_good(value: str) -> None:
    assert v.is_dns1123_label(value) == []


@pytest.mark.parametrize("value", BAD_LABELS)
def test_dns1123_label_bad(value: str) -> None:
    assert v.is_dns1123_label(value) == [LABEL_MSG]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a.b", ["must not contain dots"]),
        ("a" * 64, ["must be no more than 63 characters"]),
        ("a" * 64 + "-", ["must be no more than 63 characters", LABEL_MSG]),
    ],
    ids=["dots", "too-long", "too-long-and-bad"],
)
def test_dns1123_label_messages(value: str, expected: list[str]) -> None:
    assert v.is_dns1123_label(value) == expected


GOOD_SUBDOMAINS = ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2",
                   "a.a", "ab.a", "abc.a", "a1.a", "a-1.a", "a--1--2--b.a", "a.1", "ab.1", "abc.1", "a1.1",
                   "a-1.1", "a--1--2--b.1", "0.a", "01.a", "012.a", "1a.a", "1-a.a", "1--a--b--2",
                   "0.1", "01.1", "012.1", "1a.1", "1-a.1", "1--a--b--2.1", "a.b.c.d.e", "aa.bb.cc.dd.ee",
                   "1.2.3.4.5", "11.22.33.44.55", "a" * 253]  # fmt: skip
BAD_SUBDOMAINS = ["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a", "a_b",
                  "1_", "_1", "1_2", ".", "a.", ".a", "a..b", "1.", ".1", "1..2", " ", "a ", " a", "a b", "1 ",
                  " 1", "1 2", "A.a", "aB.a", "ab.A", "A1.a", "a1.A", "A.1", "aB.1", "A1.1", "1A.1", "0.A",
                  "01.A", "012.A", "1A.a", "1a.A", "A.B.C.D.E", "AA.BB.CC.DD.EE", "a.B.c.d.e", "aa.bB.cc.dd.ee",
                  "a@b", "a,b", "a_b", "a;b", "a:b", "a%b", "a?b", "a$b"]  # fmt: skip


@pytest.mark.parametrize("value", GOOD_SUBDOMAINS)
def test_dns1123_subdomain_good(value: str) -> None:
    assert v.is_dns1123_subdomain(value) == []


@pytest.mark.parametrize("value", BAD_SUBDOMAINS)
def test_dns1123_subdomain_bad(value: str) -> None:
    assert v.is_dns1123_subdomain(value) == [SUBDOMAIN_MSG]


def test_dns1123_subdomain_too_long() -> None:
    assert v.is_dns1123_subdomain("a" * 254) == ["must be no more than 253 characters"]


@pytest.mark.parametrize("value", ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "a" * 63])
def test_dns1035_label_good(value: str) -> None:
    assert v.is_dns1035_label(value) == []


@pytest.mark.parametrize(
    "value", ["0", "01", "012", "1a", "1-a", "1--a--b--2", "", "A", "ABC", "a-", "-a", "a.b"]
)
def test_dns1035_label_bad(value: str) -> None:
    assert v.is_dns1035_label(value) == [DNS1035_MSG]


GOOD_QNAMES = ["simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple", "now-with-dashes/simple",
               "now-with-dashes/now-with-dashes", "now.with.dots/simple", "now-with.dashes-and.dots/simple",
               "1-num.2-num/3-num", "1234/5678", "1.2.3.4/5678", "Uppercase_Is_OK_123",
               "example.com/Uppercase_Is_OK_123", "requests.storage-foo", "a" * 63, "a" * 253 + "/" + "a" * 63]  # fmt: skip
BAD_QNAMES = ["nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-", "only/one/slash",
              "Example.com/abc", "example_com/abc", "example.com/", "/simple", "a" * 64, "a" * 254 + "/abc"]  # fmt: skip


@pytest.mark.parametrize("value", GOOD_QNAMES)
def test_qualified_name_good(value: str) -> None:
    assert v.is_qualified_name(value) == []


@pytest.mark.parametrize("value", BAD_QNAMES)
def test_qualified_name_bad(value: str) -> None:
    assert v.is_qualified_name(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cantendwithadash-", [QNAME_NAME_MSG]),
        ("example.com/", ["name part must be non-empty", QNAME_NAME_MSG]),
        ("/simple", ["prefix part must be non-empty"]),
        ("a" * 64, ["name part must be no more than 63 characters"]),
        ("Example.com/abc", ["prefix part " + SUBDOMAIN_MSG]),
        (
            "only/one/slash",
            [
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character (e.g. 'MyName' or 'my.name' or '123-abc', regex used for validation "
                "is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"
            ],
        ),
    ],
    ids=["trailing-dash", "empty-name", "empty-prefix", "too-long", "bad-prefix", "two-slashes"],
)
def test_qualified_name_messages(value: str, expected: list[str]) -> None:
    assert v.is_qualified_name(value) == expected


@pytest.mark.parametrize("value", ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234",
                                   "", "a" * 63, "Uppercase_Is_OK_123"])  # fmt: skip
def test_label_value_good(value: str) -> None:
    assert v.is_valid_label_value(value) == []


@pytest.mark.parametrize("value", ["nospecialchars%^=@", "Tama-nui-te-rā.is.Māori.sun", "\\backslashes\\are\\bad",
                                   "-starts-with-dash", "ends-with-dash-", ".starts.with.dot", "ends.with.dot."])  # fmt: skip
def test_label_value_bad(value: str) -> None:
    assert v.is_valid_label_value(value) == [LABEL_VALUE_MSG]


def test_label_value_too_long() -> None:
    assert v.is_valid_label_value("a" * 64) == ["must be no more than 63 characters"]


@pytest.mark.parametrize(
    ("name_fn", "generate_name", "ok"),
    [
        (v.name_is_dns_subdomain, "web-", True),
        (v.name_is_dns_subdomain, "web", True),
        (v.name_is_dns_subdomain, "Web-", False),
        (v.name_is_dns_label, "my.ns-", False),
        (v.name_is_dns1035_label, "1svc-", False),
        (v.name_is_dns1035_label, "svc-", True),
    ],
    ids=["subdomain-dash", "subdomain", "subdomain-upper", "label-dots", "1035-digit", "1035-dash"],
)
def test_generate_name_prefix(name_fn: v.NameFn, generate_name: str, ok: bool) -> None:
    assert (name_fn(generate_name, True) == []) is ok


def _messages(errs: list[fe.FieldError]) -> list[str]:
    return [str(e) for e in errs]


OBJECT_META_CASES: list[tuple[str, dict[str, Any], bool, list[str]]] = [
    ("valid", {"name": "web", "namespace": "default", "labels": {"app": "web"}}, True, []),
    ("valid-cluster-scoped", {"name": "node-1"}, False, []),
    ("missing-name", {"namespace": "default"}, True, ["metadata.name: Required value: name or generateName is required"]),
    ("bad-name", {"name": "bad_name", "namespace": "default"}, True,
     [f'metadata.name: Invalid value: "bad_name": {SUBDOMAIN_MSG}']),
    ("bad-generate-name", {"generateName": "Web-", "name": "web-abcde", "namespace": "default"}, True,
     [f'metadata.generateName: Invalid value: "Web-": {SUBDOMAIN_MSG}']),
    ("missing-namespace", {"name": "web"}, True, ["metadata.namespace: Required value"]),
    ("namespace-on-cluster-scoped", {"name": "n", "namespace": "default"}, False,
     ["metadata.namespace: Forbidden: not allowed on this type"]),
    ("bad-namespace", {"name": "web", "namespace": "my.ns"}, True,
     ['metadata.namespace: Invalid value: "my.ns": must not contain dots']),
    ("negative-generation", {"name": "web", "generation": -1}, False,
     ["metadata.generation: Invalid value: -1: must be greater than or equal to 0"]),
    ("bad-label-key", {"name": "web", "labels": {"a/b/c": "x"}}, False,
     ['metadata.labels: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '
      "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName' or 'my.name' or "
      "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS "
      "subdomain prefix and '/' (e.g. 'example.com/MyName')"]),
    ("bad-label-value", {"name": "web", "labels": {"app": "-x"}}, False,
     [f'metadata.labels: Invalid value: "-x": {LABEL_VALUE_MSG}']),
    ("uppercase-annotation-key-ok", {"name": "web", "annotations": {"Example.com/Key": "v"}}, False, []),
    ("annotations-too-long", {"name": "web", "annotations": {"a": "x" * (256 * 1024)}}, False,
     ["metadata.annotations: Too long: must have at most 262144 bytes"]),
    ("owner-ref-incomplete", {"name": "web", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet"}]},
     False,
     ['metadata.ownerReferences.name: Invalid value: "": must not be empty',
      'metadata.ownerReferences.uid: Invalid value: "": must not be empty']),
    ("two-controllers", {"name": "web", "ownerReferences": [
        {"apiVersion": "v1", "kind": "A", "name": "a", "uid": "1", "controller": True},
        {"apiVersion": "v1", "kind": "B", "name": "b", "uid": "2", "controller": True}]}, False,
     ['metadata.ownerReferences: Invalid value: []interface {}{map[string]interface {}{"apiVersion":"v1", '
      '"controller":true, "kind":"A", "name":"a", "uid":"1"}, map[string]interface {}{"apiVersion":"v1", '
      '"controller":true, "kind":"B", "name":"b", "uid":"2"}}: Only one reference can have Controller set to '
      'true. Found "true" in references for A/a and B/b']),
    ("conflicting-finalizers", {"name": "web", "finalizers": ["orphan", "foregroundDeletion"]}, False,
     ['metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: '
      "finalizer orphan and foregroundDeletion cannot be both set"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("meta", "namespaced", "expected"),
    [c[1:] for c in OBJECT_META_CASES],
    ids=[c[0] for c in OBJECT_META_CASES],
)
def test_validate_object_meta(meta: dict[str, Any], namespaced: bool, expected: list[str]) -> None:
    assert _messages(v.validate_object_meta(meta, namespaced, v.name_is_dns_subdomain)) == expected


def test_validate_object_meta_custom_path() -> None:
    errs = v.validate_object_meta({}, False, v.name_is_dns_label, Path("spec", "template", "metadata"))
    assert _messages(errs) == [
        "spec.template.metadata.name: Required value: name or generateName is required"
    ]


OLD = {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "5", "generation": 2,
       "creationTimestamp": "2024-01-02T03:04:05Z"}  # fmt: skip

UPDATE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[str]]] = [
    ("unchanged", OLD, OLD, []),
    ("no-resource-version", {**OLD, "resourceVersion": ""}, OLD,
     ['metadata.resourceVersion: Invalid value: "": must be specified for an update']),
    ("rename", {**OLD, "name": "other"}, OLD, ['metadata.name: Invalid value: "other": field is immutable']),
    ("uid", {**OLD, "uid": "u2"}, OLD, ['metadata.uid: Invalid value: "u2": field is immutable']),
    ("generation-decremented", {**OLD, "generation": 1}, OLD,
     ["metadata.generation: Invalid value: 1: must not be decremented"]),
    ("new-finalizer-while-deleting", {**OLD, "deletionTimestamp": "x", "finalizers": ["b", "a"]},
     {**OLD, "deletionTimestamp": "x"},
     ['metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, '
      'found new finalizers []string{"a", "b"}']),
]  # fmt: skip


@pytest.mark.parametrize(
    ("new", "old", "expected"), [c[1:] for c in UPDATE_CASES], ids=[c[0] for c in UPDATE_CASES]
)
def test_validate_object_meta_update(new: dict[str, Any], old: dict[str, Any], expected: list[str]) -> None:
    assert _messages(v.validate_object_meta_update(new, old)) == expected


FIELD_ERROR_CASES = [
    ("required", fe.required(Path("spec", "containers").index(0).child("name")), "spec.containers[0].name: Required value"),
    ("required-detail", fe.required("metadata.name", "name or generateName is required"),
     "metadata.name: Required value: name or generateName is required"),
    ("invalid-int", fe.invalid(Path("spec").child("containers").index(0).child("ports").index(1).child("containerPort"),
                               0, "must be between 1 and 65535, inclusive"),
     "spec.containers[0].ports[1].containerPort: Invalid value: 0: must be between 1 and 65535, inclusive"),
    ("invalid-bool", fe.invalid("spec.x", True, "nope"), "spec.x: Invalid value: true: nope"),
    ("invalid-null", fe.invalid("spec.x", None, "nope"), "spec.x: Invalid value: null: nope"),
    ("invalid-float", fe.invalid("spec.x", 1e6, "big"), "spec.x: Invalid value: 1e+06: big"),
    ("invalid-float-small", fe.invalid("spec.x", 0.25, "q"), "spec.x: Invalid value: 0.25: q"),
    ("duplicate", fe.duplicate(Path("spec", "containers").index(1).child("name"), "app"),
     'spec.containers[1].name: Duplicate value: "app"'),
    ("not-supported", fe.not_supported("spec.restartPolicy", "x", ["Always", "OnFailure", "Never"]),
     'spec.restartPolicy: Unsupported value: "x": supported values: "Always", "OnFailure", "Never"'),
    ("not-supported-no-list", fe.not_supported("spec.x", "y", []), 'spec.x: Unsupported value: "y"'),
    ("forbidden", fe.forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`"),
     "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"),
    ("too-long", fe.too_long("metadata.annotations", "", 262144),
     "metadata.annotations: Too long: must have at most 262144 bytes"),
    ("too-many", fe.too_many("spec.containers", 3, 2), "spec.containers: Too many: 3: must have at most 2 items"),
    ("too-many-unknown-count", fe.too_many("spec.containers", -1, 2), "spec.containers: Too many: must have at most 2 items"),
    ("not-found", fe.not_found("spec.volumeName", "pv1"), 'spec.volumeName: Not found: "pv1"'),
    ("internal", fe.internal_error("spec", "boom"), "spec: Internal error: boom"),
    ("map-key", fe.invalid(Path("metadata", "labels").key("app"), "x", "bad"), 'metadata.labels[app]: Invalid value: "x": bad'),
    ("quoted-value", fe.invalid("f", 'a"b\tc', "d"), 'f: Invalid value: "a\\"b\\tc": d'),
]  # fmt: skip


@pytest.mark.parametrize(
    ("err", "text"), [c[1:] for c in FIELD_ERROR_CASES], ids=[c[0] for c in FIELD_ERROR_CASES]
)
def test_field_error_rendering(err: fe.FieldError, text: str) -> None:
    assert str(err) == text


@pytest.mark.parametrize(
    ("errs", "text"),
    [
        ([], ""),
        ([fe.required("a")], "a: Required value"),
        ([fe.required("a"), fe.required("b")], "[a: Required value, b: Required value]"),
        ([fe.required("a"), fe.required("a")], "a: Required value"),
    ],
    ids=["none", "one", "two", "duplicates-dropped"],
)
def test_aggregate_message(errs: list[fe.FieldError], text: str) -> None:
    assert fe.aggregate_message(errs) == text
