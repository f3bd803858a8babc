"""apiserver/kubeconfig.py: an admin kubeconfig the official Python client accepts as is.

(kubectl reading it is covered end to end in tests/apiserver/test_server.py.)
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

from apiserver.kubeconfig import admin_kubeconfig, server_url, write_kubeconfig
from apiserver.pki import ensure_pki


def test_written_kubeconfig_is_private_and_loads_in_the_python_client(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "pki")
    path = tmp_path / "kubeconfig"
    write_kubeconfig(path, admin_kubeconfig(pki, "https://127.0.0.1:6443"))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = yaml.safe_load(path.read_text())
    assert doc["current-context"] == "default"

    configuration = client.Configuration()
    config.load_kube_config(config_file=str(path), client_configuration=configuration)
    assert configuration.host == "https://127.0.0.1:6443"
    assert Path(configuration.ssl_ca_cert).read_bytes() == pki.ca_cert.read_bytes()
    assert Path(configuration.cert_file).read_bytes() == pki.admin_cert.read_bytes()
    assert Path(configuration.key_file).read_bytes() == pki.admin_key.read_bytes()


def test_plain_http_kubeconfig_carries_no_credentials() -> None:
    doc = admin_kubeconfig(None, "http://127.0.0.1:8080")
    assert doc["users"] == [{"name": "kubernetes-admin", "user": {}}]
    assert "certificate-authority-data" not in doc["clusters"][0]["cluster"]


@pytest.mark.parametrize(
    ("host", "tls", "url"),
    [
        ("127.0.0.1", True, "https://127.0.0.1:6443"),
        ("0.0.0.0", True, "https://127.0.0.1:6443"),
        ("::", True, "https://127.0.0.1:6443"),
        ("::1", True, "https://[::1]:6443"),
        ("127.0.0.1", False, "http://127.0.0.1:6443"),
    ],
    ids=["loopback", "wildcard-v4", "wildcard-v6", "ipv6", "plain-http"],
)
def test_server_url(host: str, tls: bool, url: str) -> None:
    assert server_url(host, 6443, tls=tls) == url
