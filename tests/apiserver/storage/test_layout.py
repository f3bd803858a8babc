"""A value stored under a key that does not fit the object is reported with the key, not served."""

from __future__ import annotations

import orjson
import pytest

from apiserver.storage.errors import CorruptValueError
from apiserver.storage.interface import Backend
from apiserver.storage.store import ObjectStore


@pytest.mark.parametrize(
    "key,meta",
    [
        pytest.param("/registry/configmaps/ns1/a", {"name": "b", "namespace": "ns1"}, id="other-name"),
        pytest.param("/registry/configmaps/ns1/a", {"name": "a", "namespace": "ns2"}, id="other-namespace"),
        pytest.param(
            "/registry/configmaps/a", {"name": "a", "namespace": "ns1"}, id="namespace-segment-missing"
        ),
        pytest.param("/registry/namespaces/a", {}, id="no-name"),
    ],
)
async def test_key_outside_the_layout(backend: Backend, key: str, meta: dict) -> None:
    await backend.create(key, orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}))
    store = ObjectStore(backend)
    with pytest.raises(CorruptValueError) as e:
        await store.get(key)
    assert e.value.key == key
    assert key in str(e.value)
    prefix = key.rsplit("/", 1)[0] + "/"
    with pytest.raises(CorruptValueError):
        await store.list(prefix)
