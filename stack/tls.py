"""The secure stack's TLS material: a private CA and the broker's certificate, made once.

``<state>/conf/tls/`` (mode 0700): ``ca.pem`` (the CA certificate, what clients trust),
``ca-key.pem`` and ``broker.pem`` (the broker's unencrypted PKCS#8 key and its certificate
chain, mode 0600: what the broker's PEM keystore reads). The broker's certificate names
the stack's loopback host (IP and DNS), so clients verify it with hostname checking on; it
serves TLS on the client listener and, both ways (mutual TLS), on the controller listener.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from stack.settings import StackSettings
from stack.state import private_dir

#: Certificates are for a sandbox: long enough that no one meets an expiry, not for ever.
VALIDITY = timedelta(days=825)


def tls_dir(settings: StackSettings) -> Path:
    return settings.conf_dir / "tls"


def ca_path(settings: StackSettings) -> Path:
    return tls_dir(settings) / "ca.pem"


def broker_pem_path(settings: StackSettings) -> Path:
    return tls_dir(settings) / "broker.pem"


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, mode)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ensure_tls(settings: StackSettings) -> bool:
    """Create the CA and the broker's certificate if missing; True if it made them."""
    folder = private_dir(tls_dir(settings))
    if ca_path(settings).exists() and broker_pem_path(settings).exists():
        return False
    now = datetime.now(UTC) - timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scv local stack CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(settings.host)))
    except ValueError:
        names.append(x509.DNSName(settings.host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scv-broker")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            # Server on the listeners, client of its own controller listener (mutual TLS).
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    _write(folder / "ca-key.pem", _key_pem(ca_key), 0o600)
    _write(
        broker_pem_path(settings),
        _key_pem(key) + cert.public_bytes(pem) + ca.public_bytes(pem),
        0o600,
    )
    _write(ca_path(settings), ca.public_bytes(pem), 0o644)
    return True
