"""The write path's shortcuts give exactly what the plain algorithms give.

``compare`` skips one-sided and equal subtrees, schema lookups are remembered per
node, ``fieldsV1`` is built in sorted order and remembered, ``recursive_difference``
checks fewer prefixes, element texts come from orjson. Each is checked here against
a plain transcription of the general algorithm (what the code did before the
shortcuts), on tables of awkward cases and on seeded random objects.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

from apiserver.managedfields import fieldpath as fp
from apiserver.managedfields import typed
from apiserver.managedfields.fieldpath import FieldSet, Path
from apiserver.managedfields.typed import KEY_DEFAULTS, MISSING, compare, zero_object
from apiserver.patch import lookup
from apiserver.schema import PatchMeta, Schema, definition_for_gvk, definitions, patch_meta

POD = definition_for_gvk("", "v1", "Pod")
SCHEMAS = {
    "pod": POD,
    "deployment": definition_for_gvk("apps", "v1", "Deployment"),
    "service": definition_for_gvk("", "v1", "Service"),
    "configmap": definition_for_gvk("", "v1", "ConfigMap"),
    "node": definition_for_gvk("", "v1", "Node"),
    "none": None,
}

# --- the plain algorithms --------------------------------------------------------------


def _follow(schema: Schema) -> Schema:
    while True:
        if "$ref" in schema:
            schema = definitions()[schema["$ref"].rsplit("/", 1)[-1]]
        elif len(schema.get("allOf", ())) == 1 and "$ref" in schema["allOf"][0]:
            schema = definitions()[schema["allOf"][0]["$ref"].rsplit("/", 1)[-1]]
        else:
            return schema


def plain_lookup_struct(schema: Schema | None, key: str) -> tuple[Schema | None, PatchMeta]:
    if schema is None:
        return None, PatchMeta()
    node = _follow(schema)
    properties = node.get("properties")
    if isinstance(properties, dict):
        field = properties.get(key)
        field = field if isinstance(field, dict) else None
    else:
        values = node.get("additionalProperties")
        field = values if isinstance(values, dict) else None
    if field is None or "properties" not in node:
        return field, PatchMeta()
    strategy = field.get("x-kubernetes-patch-strategy", "")
    return field, PatchMeta(
        strategies=tuple(s for s in strategy.split(",") if s),
        merge_key=field.get("x-kubernetes-patch-merge-key"),
        list_type=field.get("x-kubernetes-list-type"),
        list_map_keys=tuple(field.get("x-kubernetes-list-map-keys", ())),
        map_type=field.get("x-kubernetes-map-type") or _follow(field).get("x-kubernetes-map-type"),
    )


def plain_json(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def plain_element(kind: str, keys: tuple[str, ...], item: Any, i: int) -> str:
    if kind == "set":
        return "v:" + plain_json(item)
    if kind == "map" and isinstance(item, dict):
        values = {k: item.get(k, KEY_DEFAULTS.get(k)) for k in keys if k in item or k in KEY_DEFAULTS}
        if values:
            return "k:" + plain_json(dict(sorted(values.items())))
    return f"i:{i}"


def plain_compare(old: Any, new: Any, schema: Schema | None) -> tuple[set[Path], set[Path], set[Path]]:
    """typed/compare.go as first transcribed: every node visited, every leaf compared as JSON."""
    added: set[Path] = set()
    modified: set[Path] = set()
    removed: set[Path] = set()

    def item_meta(s: Schema | None) -> PatchMeta:
        return PatchMeta() if s is None else PatchMeta(map_type=_follow(s).get("x-kubernetes-map-type"))

    def items_of(s: Schema | None) -> Schema | None:
        items = _follow(s).get("items") if s is not None else None
        return items if isinstance(items, dict) else None

    def leaf(lhs: Any, rhs: Any, path: Path) -> None:
        if lhs is MISSING:
            added.add(path)
        elif rhs is MISSING:
            removed.add(path)
        elif json.dumps(lhs, sort_keys=True) != json.dumps(rhs, sort_keys=True):
            modified.add(path)

    def walk(lhs: Any, rhs: Any, s: Schema | None, meta: PatchMeta, path: Path) -> None:
        children = False
        if isinstance(lhs, dict) or isinstance(rhs, dict):
            left = lhs if isinstance(lhs, dict) else {}
            right = rhs if isinstance(rhs, dict) else {}
            ok = all(v is MISSING or v is None or isinstance(v, dict) for v in (lhs, rhs))
            if ok and meta.map_type != "atomic" and (left or right):
                children = True
                for name in {**left, **right}:
                    child_schema, child_meta = plain_lookup_struct(s, name)
                    lv, rv = left.get(name, MISSING), right.get(name, MISSING)
                    rv = MISSING if rv is None else rv
                    if rv is MISSING and (lv is MISSING or lv is None):
                        continue
                    walk(lv, rv, child_schema, child_meta, (*path, f"f:{name}"))
        elif isinstance(lhs, list) or isinstance(rhs, list):
            left = lhs if isinstance(lhs, list) else []
            right = rhs if isinstance(rhs, list) else []
            kind, keys = typed.list_kind(meta)
            ok = all(v is MISSING or v is None or isinstance(v, list) for v in (lhs, rhs))
            if ok and kind != "atomic" and (left or right):
                children = True
                element_schema = items_of(s)
                by_left: dict[str, Any] = {}
                by_right: dict[str, Any] = {}
                for side, items in ((by_left, left), (by_right, right)):
                    for i, item in enumerate(items):
                        side.setdefault(plain_element(kind, keys, item, i), item)
                for element in {**by_left, **by_right}:
                    walk(
                        by_left.get(element, MISSING),
                        by_right.get(element, MISSING),
                        element_schema,
                        item_meta(element_schema),
                        (*path, element),
                    )
        if not children:
            leaf(lhs, rhs, path)
        elif path and lhs is MISSING:
            added.add(path)
        elif path and rhs is MISSING:
            removed.add(path)

    walk(old, new, schema, item_meta(schema), ())
    return added, modified, removed


def plain_fields_v1(fields: FieldSet) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in fields:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
        node["."] = {}

    def rank(element: str) -> tuple[int, str]:
        return ({".": 0, "f": 1, "k": 2, "v": 3, "i": 4}.get(element[0], 5), element)

    def finish(node: dict[str, Any]) -> dict[str, Any]:
        children = {k: finish(v) for k, v in node.items() if k != "."}
        out: dict[str, Any] = {}
        if "." in node and children:
            out["."] = {}
        for k in sorted(children, key=rank):
            out[k] = children[k]
        return out

    return finish(tree)


def plain_recursive_difference(fields: FieldSet, remove: FieldSet) -> FieldSet:
    return frozenset(p for p in fields if not any(p[:i] in remove for i in range(1, len(p) + 1)))


# --- random objects -------------------------------------------------------------------

ODD_VALUES: list[Any] = [
    "x",
    "",
    "ü",
    'q"',
    "a\\b",
    "\u2028",
    0,
    1,
    2**70,
    1.0,
    -0.0,
    1e-7,
    True,
    False,
    None,
]


def _container(r: random.Random, name: str) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": r.choice(["nginx", "busybox"])}
    if r.random() < 0.6:
        c["ports"] = [
            {"containerPort": r.choice([80, 443]), **({"protocol": "UDP"} if r.random() < 0.3 else {})}
            for _ in range(r.randint(1, 3))
        ]
    if r.random() < 0.5:
        c["args"] = [r.choice(["-v", "a"]) for _ in range(r.randint(0, 2))]
    if r.random() < 0.5:
        c["env"] = [{"name": r.choice("ABC"), "value": r.choice(["1", "2"])} for _ in range(r.randint(0, 3))]
    if r.random() < 0.4:
        c["resources"] = {"requests": {"cpu": "1"}} if r.random() < 0.7 else {}
    return c


def random_object(r: random.Random, shape: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "o", "namespace": "default"}
    if r.random() < 0.7:
        meta["labels"] = {r.choice(["app", "x/y", "ü", 'k"q']): r.choice(["a", ""]) for _ in range(3)}
    if r.random() < 0.4:
        meta["finalizers"] = r.sample(["a/b", "c/d", "e/f"], r.randint(0, 3))
    if r.random() < 0.3:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "X", "name": "x", "uid": r.choice("uv")}]
    obj: dict[str, Any] = {"metadata": meta}
    if shape in ("pod", "none"):
        obj["spec"] = {"containers": [_container(r, n) for n in r.sample("abcd", r.randint(1, 3))]}
        if r.random() < 0.4:
            obj["spec"]["nodeSelector"] = {"disk": "ssd"}
        if r.random() < 0.4:
            obj["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    elif shape == "deployment":
        obj["spec"] = {
            "replicas": r.choice([1, 3]),
            "selector": {"matchLabels": {"app": "w"}},
            "template": {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": [_container(r, "c")]}},
        }
    elif shape == "service":
        obj["spec"] = {"ports": [{"port": r.choice([80, 443]), "protocol": r.choice(["TCP", "UDP"])}]}
    elif shape == "configmap":
        obj["data"] = {k: "v" for k in r.sample(["a", "b", "ü"], r.randint(0, 3))}
    else:
        obj["spec"] = {"taints": [{"key": "k", "effect": "NoSchedule"}]}
        obj["status"] = {"capacity": {"cpu": "1"}, "conditions": [{"type": "Ready", "status": "True"}]}
    return obj


def _paths(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*path, i))
    return out


def mutate(r: random.Random, obj: dict[str, Any]) -> dict[str, Any]:
    """A copy with a few random changes: new values of odd types, removals, additions, shuffles."""
    obj = copy.deepcopy(obj)
    for _ in range(r.randint(0, 4)):
        path = r.choice([p for p in _paths(obj) if p])
        parent = obj
        for step in path[:-1]:
            parent = parent[step]
        target = parent[path[-1]]
        roll = r.random()
        if roll < 0.35:
            parent[path[-1]] = copy.deepcopy(r.choice(ODD_VALUES))
        elif roll < 0.55:
            del parent[path[-1]]
        elif roll < 0.75 and isinstance(target, dict):
            target[r.choice(["name", "new", "image", "type"])] = copy.deepcopy(r.choice(ODD_VALUES))
        elif roll < 0.85 and isinstance(target, list):
            target.append(copy.deepcopy(target[0]) if target else "new")
        elif isinstance(target, list):
            r.shuffle(target)
    return obj


def _cases(n: int) -> list[Any]:
    r = random.Random(2885)
    out = []
    for i in range(n):
        shape = r.choice(list(SCHEMAS))
        old = random_object(r, shape)
        roll = r.random()
        if roll < 0.2:
            old, new = zero_object(SCHEMAS[shape]), mutate(r, old)  # a create
        elif roll < 0.3:
            new = copy.deepcopy(old)  # nothing changed
        else:
            new = mutate(r, old)
        out.append(pytest.param(shape, old, new, id=f"{shape}-{i}"))
    return out


# --- the checks -----------------------------------------------------------------------


@pytest.mark.parametrize(("shape", "old", "new"), _cases(300))
def test_compare_matches_the_plain_walk(shape: str, old: Any, new: Any) -> None:
    got = compare(old, new, SCHEMAS[shape])
    assert (got.added, got.modified, got.removed) == plain_compare(old, new, SCHEMAS[shape])


def test_one_sided_and_equal_subtrees() -> None:
    old = {"spec": {"containers": [{"name": "a", "args": [1]}], "x": {"y": [True]}}}
    for new in (
        {},
        copy.deepcopy(old),
        {"spec": {"containers": [{"name": "a", "args": [True]}], "x": {"y": [1]}}},  # == but not JSON-equal
        {"spec": {"containers": [{"name": "a", "args": [1.0]}], "x": {"y": [1.0]}}},
        {
            "spec": {"containers": [{"name": "a", "args": [2**70]}], "x": {"y": [2**70]}}
        },  # orjson cannot write
        {"spec": {"containers": None, "x": {"y": [-0.0], "z": None}}},
        {"spec": {"containers": [{"name": "a", "args": [1]}, {"name": "b", "env": None}]}, "o": {"z": None}},
    ):
        for a, b in ((old, new), (new, old)):
            got = compare(a, b, POD)
            assert (got.added, got.modified, got.removed) == plain_compare(a, b, POD)


def _schema_nodes() -> list[Schema]:
    seen: dict[int, Schema] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            seen[id(node)] = node
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(definitions())
    return list(seen.values())


def test_lookup_struct_table_matches_direct_lookup() -> None:
    for node in _schema_nodes():
        properties = node.get("properties")
        keys = list(properties) if isinstance(properties, dict) else []
        for key in [*keys, "no-such-field", ""]:
            assert lookup.lookup_struct(node, key) == plain_lookup_struct(node, key), (node, key)
        assert patch_meta(node) == plain_lookup_struct({"properties": {"f": node}}, "f")[1]


def _random_field_set(r: random.Random) -> FieldSet:
    elements = [
        "f:a",
        "f:b",
        "f:spec",
        'k:{"name":"c"}',
        'k:{"port":80,"protocol":"TCP"}',
        'v:"x"',
        "v:1",
        "i:0",
        "i:10",
    ]
    paths = set()
    for _ in range(r.randint(0, 25)):
        paths.add(tuple(r.choice(elements) for _ in range(r.randint(1, 4))))
    return frozenset(paths)


@pytest.mark.parametrize("seed", range(200))
def test_fields_v1_matches_the_plain_encoder(seed: int) -> None:
    fields = _random_field_set(random.Random(seed))
    got = fp.to_fields_v1(fields)
    assert json.dumps(got) == json.dumps(plain_fields_v1(fields))  # the same keys in the same order
    assert fp.from_fields_v1(got) == fields
    got["f:changed"] = {}  # a caller's change does not reach the remembered encoding
    assert json.dumps(fp.to_fields_v1(fields)) == json.dumps(plain_fields_v1(fields))


@pytest.mark.parametrize("seed", range(100))
def test_recursive_difference_matches_the_plain_filter(seed: int) -> None:
    r = random.Random(seed)
    fields, remove = _random_field_set(r), _random_field_set(r)
    assert fp.recursive_difference(fields, remove) == plain_recursive_difference(fields, remove)
    assert fp.recursive_difference(fields, frozenset({()})) == fields  # the root prefix is never checked


@pytest.mark.parametrize(
    "value",
    ["x", "ü", "\u2028", "\x00\x1f\x7f", 'q"\\', "\ud800", 0, -1, 2**63, 2**64, 2**70, True, None, 1.0, 1e-7,
     float("nan"), {"name": "c"}, {"port": 80, "protocol": "TCP"}, {"a": 1.5}, {"a": [1]}, [1, "a"]],
)  # fmt: skip
def test_element_text_is_jsons(value: Any) -> None:
    assert fp._json(value) == plain_json(value)
    if isinstance(value, dict):
        assert fp.key(value) == "k:" + plain_json(dict(sorted(value.items())))
