"""The cluster's public key infrastructure: one CA, a serving certificate, an admin identity.

Mirrors kubeadm's certs phase (cmd/kubeadm/app/phases/certs/certs.go and
cmd/kubeadm/app/util/pkiutil/pki_helpers.go): on first start we create, in
``DATA_DIR/pki``, the same files kubeadm puts in /etc/kubernetes/pki:

    ca.crt, ca.key                 the cluster CA (10 years), "CN=kubernetes"
    apiserver.crt, apiserver.key   the API server's serving certificate (1 year), signed by the
                                   CA, valid for every name a client may dial (see ``serving_sans``)
    admin.crt, admin.key           a client certificate "CN=kubernetes-admin, O=system:masters",
                                   the identity kubeadm embeds in admin.conf
    apiserver-kubelet-client.{crt,key}  the API server's client certificate towards kubelets
                                   (logs, exec, port-forward), "CN=kube-apiserver-kubelet-client,
                                   O=system:masters" (kube-apiserver --kubelet-client-certificate)

A kubelet's serving certificate is signed by the same CA (``issue_kubelet_serving``), so
the API server can check it is talking to the node it meant to reach.

Why one CA does both jobs: clients trust the CA to check the server (the kubeconfig's
``certificate-authority-data``), and the server trusts the same CA to check client
certificates (kube-apiserver's ``--client-ca-file``). Whoever holds a certificate the CA
signed is the user named in its subject: CN is the user name, each O a group. That is
all x509 authentication is (see apiserver/auth.py).

Later starts reuse the files. A leaf certificate is issued again only when it is
missing, no longer signed by the current CA, or close to expiry (what ``kubeadm certs
renew`` would do by hand). Keys are ECDSA P-256 and are written with mode 0600.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = datetime.timedelta(days=3650)
LEAF_VALIDITY = datetime.timedelta(days=365)
#: Re-issue a leaf certificate on start when it expires sooner than this.
RENEW_BEFORE = datetime.timedelta(days=30)
#: The first address of the default service CIDR 10.96.0.0/12: the ``kubernetes`` Service.
KUBERNETES_SERVICE_IP = "10.96.0.1"

ADMIN_USER = "kubernetes-admin"
ADMIN_GROUP = "system:masters"
KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client"


@dataclass(frozen=True)
class PKI:
    """Where the certificate and key files of one cluster live."""

    dir: Path

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def serving_cert(self) -> Path:
        return self.dir / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.dir / "apiserver.key"

    @property
    def admin_cert(self) -> Path:
        return self.dir / "admin.crt"

    @property
    def admin_key(self) -> Path:
        return self.dir / "admin.key"

    @property
    def kubelet_client_cert(self) -> Path:
        return self.dir / "apiserver-kubelet-client.crt"

    @property
    def kubelet_client_key(self) -> Path:
        return self.dir / "apiserver-kubelet-client.key"


def serving_sans(hostname: str | None = None) -> list[x509.GeneralName]:
    """Every name a client may use to reach the API server, as kubeadm lists them.

    Loopback for local clients, the machine's hostname, and the in-cluster names of
    the ``kubernetes`` Service in the default namespace (pods dial those).
    """
    dns = [
        "localhost",
        hostname or socket.gethostname(),
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ]
    ips = ["127.0.0.1", "::1", KUBERNETES_SERVICE_IP]
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dict.fromkeys(dns)]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    return names


def ensure_pki(pki_dir: Path, *, hostname: str | None = None) -> PKI:
    """Create whatever is missing (or stale) in ``pki_dir``; reuse the rest."""
    pki = PKI(pki_dir)
    pki_dir.mkdir(parents=True, exist_ok=True)
    now = _now()

    if pki.ca_cert.exists() and pki.ca_key.exists():
        ca_cert, ca_key = _load(pki.ca_cert, pki.ca_key)
    else:
        ca_key = _new_key()
        ca_cert = _issue(
            subject=_name("kubernetes"),
            public_key=ca_key.public_key(),
            signer_key=ca_key,
            issuer=None,
            validity=CA_VALIDITY,
            now=now,
        )
        _write(pki.ca_cert, pki.ca_key, ca_cert, ca_key)

    leaves = [
        (pki.serving_cert, pki.serving_key, _name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH),
        (pki.admin_cert, pki.admin_key, _name(ADMIN_USER, ADMIN_GROUP), ExtendedKeyUsageOID.CLIENT_AUTH),
        (
            pki.kubelet_client_cert,
            pki.kubelet_client_key,
            _name(KUBELET_CLIENT_USER, ADMIN_GROUP),
            ExtendedKeyUsageOID.CLIENT_AUTH,
        ),
    ]
    for cert_path, key_path, subject, usage in leaves:
        if _still_good(cert_path, key_path, ca_cert, now):
            continue
        key = _new_key()
        cert = _issue(
            subject=subject,
            public_key=key.public_key(),
            signer_key=ca_key,
            issuer=ca_cert,
            validity=LEAF_VALIDITY,
            now=now,
            usage=usage,
            sans=serving_sans(hostname) if usage == ExtendedKeyUsageOID.SERVER_AUTH else None,
        )
        _write(cert_path, key_path, cert, key)
    return pki


def issue_kubelet_serving(
    pki: PKI, node_name: str, addresses: list[str], cert_path: Path, key_path: Path
) -> None:
    """A kubelet's serving certificate for ``node_name``, valid for its ``addresses``
    (kubelet's ``--tls-cert-file``; upstream a CSR the cluster approves)."""
    ca_cert, ca_key = _load(pki.ca_cert, pki.ca_key)
    sans: list[x509.GeneralName] = [x509.DNSName(node_name)]
    for address in addresses:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            sans.append(x509.DNSName(address))
    key = _new_key()
    cert = _issue(
        subject=_name(f"system:node:{node_name}", "system:nodes"),
        public_key=key.public_key(),
        signer_key=ca_key,
        issuer=ca_cert,
        validity=LEAF_VALIDITY,
        now=_now(),
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        sans=sans,
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    _write(cert_path, key_path, cert, key)


# -- helpers ------------------------------------------------------------------------------


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attrs = []
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _issue(
    *,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signer_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    validity: datetime.timedelta,
    now: datetime.datetime,
    usage: x509.ObjectIdentifier | None = None,
    sans: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    """Sign a certificate; ``issuer=None`` makes a self-signed CA."""
    is_ca = issuer is None
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # A little slack backwards, for clocks that disagree by a few minutes.
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer is not None:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(signer_key, hashes.SHA256())


def _still_good(cert_path: Path, key_path: Path, ca_cert: x509.Certificate, now: datetime.datetime) -> bool:
    """Is the certificate there, signed by this CA, and far enough from expiry?"""
    if not (cert_path.exists() and key_path.exists()):
        return False
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return cert.not_valid_after_utc - now > RENEW_BEFORE


def _load(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path}: expected an ECDSA key")
    return cert, key


def _write(cert_path: Path, key_path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        # "EC PRIVATE KEY", as kubeadm writes it (keyutil.MarshalPrivateKeyToPEM).
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    _write_atomically(key_path, key_pem, mode=0o600)
    _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    """Write to a temporary file created with ``mode``, then rename it into place.

    A reader never sees half a file, and a key is never readable by others, not even
    for the instant between create and chmod.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(fd, mode)  # the umask may have narrowed it further than we asked
        f.write(data)
    os.replace(tmp, path)


def write_private_file(path: Path, data: bytes) -> None:
    """Write a secret (a key, a kubeconfig holding one): mode 0600, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, data, mode=0o600)
