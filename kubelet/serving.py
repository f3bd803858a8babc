"""The kubelet's serving credentials, when none are given: what the real kubelet does.

Mirrors pkg/kubelet/kubelet.go and cmd/kubelet/app/server.go: without
``--tls-cert-file``/``--tls-private-key-file`` the kubelet makes itself a self-signed
serving certificate (``<root-dir>/pki/kubelet.crt``) for its hostname and IPs. The
API server then connects to it without verifying that certificate, as kube-apiserver
does when ``--kubelet-certificate-authority`` is not set. In the other direction the
kubelet does verify its callers: only a client certificate signed by
``--client-ca-file`` (by default here, the CA of the kubelet's own kubeconfig: the
cluster CA) may read logs or exec into containers.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(pki_dir: Path, node_name: str, addresses: list[str]) -> tuple[Path, Path]:
    """``kubelet.crt``/``kubelet.key`` under ``pki_dir``, made once and reused."""
    cert_path, key_path = pki_dir / "kubelet.crt", pki_dir / "kubelet.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    pki_dir.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{node_name}@kubelet")])
    sans: list[x509.GeneralName] = [x509.DNSName(node_name), x509.DNSName("localhost")]
    for address in {*addresses, "127.0.0.1"}:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            sans.append(x509.DNSName(address))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def client_ca_from_kubeconfig(kubeconfig: Path, dest: Path) -> Path:
    """Write the kubeconfig's cluster CA to ``dest``: the default ``--client-ca-file``."""
    config = yaml.safe_load(kubeconfig.read_text())
    clusters = config.get("clusters") or []
    data = (clusters[0].get("cluster") or {}).get("certificate-authority-data") if clusters else None
    if not data:
        raise ValueError(f"{kubeconfig}: no certificate-authority-data to verify API server clients with")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(base64.b64decode(data))
    return dest
