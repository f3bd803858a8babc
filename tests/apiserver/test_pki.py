"""apiserver/pki.py: the files kubeadm's certs phase would create, created once, reused after."""

from __future__ import annotations

import datetime
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from apiserver import pki as pki_module
from apiserver.pki import PKI, ensure_pki


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def all_files(pki: PKI) -> list[Path]:
    return [pki.ca_cert, pki.ca_key, pki.serving_cert, pki.serving_key, pki.admin_cert, pki.admin_key]


def snapshot(pki: PKI) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in all_files(pki)}


@pytest.fixture
def pki(tmp_path: Path) -> PKI:
    return ensure_pki(tmp_path / "pki", hostname="node-1")


def test_creates_every_file_with_private_keys_0600(pki: PKI) -> None:
    for path in all_files(pki):
        assert path.exists(), path
    for key in (pki.ca_key, pki.serving_key, pki.admin_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert not list(pki.dir.glob(".*.tmp")), "no temporary files are left behind"


def test_ca_is_a_ten_year_ca(pki: PKI) -> None:
    ca = load(pki.ca_cert)
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kubernetes"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.not_valid_after_utc - ca.not_valid_before_utc >= datetime.timedelta(days=3650)


def test_serving_certificate_names_every_address_a_client_may_dial(pki: PKI) -> None:
    cert = load(pki.serving_cert)
    cert.verify_directly_issued_by(load(pki.ca_cert))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {
        "localhost",
        "node-1",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    }
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address(ip) for ip in ("127.0.0.1", "::1", "10.96.0.1")
    }
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_admin_certificate_is_kubeadm_admin(pki: PKI) -> None:
    cert = load(pki.admin_cert)
    cert.verify_directly_issued_by(load(pki.ca_cert))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kubernetes-admin"
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "system:masters"
    ]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_later_starts_reuse_the_files(pki: PKI) -> None:
    before = snapshot(pki)
    ensure_pki(pki.dir, hostname="node-1")
    assert snapshot(pki) == before


def test_a_missing_leaf_is_issued_again_by_the_same_ca(pki: PKI) -> None:
    before = snapshot(pki)
    pki.admin_cert.unlink()
    ensure_pki(pki.dir, hostname="node-1")
    after = snapshot(pki)
    assert after["ca.crt"] == before["ca.crt"]
    assert after["apiserver.crt"] == before["apiserver.crt"]
    assert after["admin.crt"] != before["admin.crt"]
    load(pki.admin_cert).verify_directly_issued_by(load(pki.ca_cert))


def test_a_new_ca_reissues_every_leaf(pki: PKI) -> None:
    before = snapshot(pki)
    pki.ca_key.unlink()
    ensure_pki(pki.dir, hostname="node-1")
    after = snapshot(pki)
    assert all(after[name] != before[name] for name in after)
    ca = load(pki.ca_cert)
    for leaf in (pki.serving_cert, pki.admin_cert):
        load(leaf).verify_directly_issued_by(ca)


def test_a_leaf_close_to_expiry_is_renewed(pki: PKI, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(pki)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=350)  # 15 days left
    monkeypatch.setattr(pki_module, "_now", lambda: later)
    ensure_pki(pki.dir, hostname="node-1")
    after = snapshot(pki)
    assert after["ca.crt"] == before["ca.crt"]
    assert after["apiserver.crt"] != before["apiserver.crt"]
    assert load(pki.serving_cert).not_valid_after_utc > later + datetime.timedelta(days=300)
