"""Key material: the TLS CA and server certificate, app certificates, the token-signing key.

Generating RSA keys is the slowest thing the simulator does, so each is made once per process
and shared by every simulator started in it (they are test keys, nothing trusts them).
"""
from __future__ import annotations

import atexit
import base64
import datetime
import functools
import hashlib
import os
import shutil
import tempfile
import threading

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@functools.lru_cache(maxsize=None)
def material_dir() -> str:
    """A private directory for this process's keys, certificates and token files, removed at exit."""
    path = tempfile.mkdtemp(prefix="graphsim-")
    atexit.register(shutil.rmtree, path, True)
    return path


@functools.lru_cache(maxsize=None)
def tls_material() -> tuple:
    """(ca_path, server cert+key PEM path) for 127.0.0.1 / localhost."""
    ca = trustme.CA(organization_name="graphsim test CA")
    server = ca.issue_cert("127.0.0.1", "localhost", "::1")
    directory = material_dir()
    ca_path = os.path.join(directory, "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    server_path = os.path.join(directory, "server.pem")
    server.private_key_and_cert_chain_pem.write_to_path(server_path)
    return ca_path, server_path


_KEY_LOCK = threading.Lock()


@functools.lru_cache(maxsize=None)
def _new_rsa_key(name: str) -> rsa.RSAPrivateKey:
    del name  # only the cache key
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """One RSA key per purpose and process (``name`` says which).

    Locked: two token requests arriving together at a fresh simulator would otherwise each make a
    signing key, and the tokens signed with the one the cache did not keep would never validate.
    """
    with _KEY_LOCK:
        return _new_rsa_key(name)


def private_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@functools.lru_cache(maxsize=None)
def app_certificate(common_name: str) -> tuple:
    """(path of a PEM holding key and certificate, certificate object) for an app credential."""
    key = rsa_key(f"app:{common_name}")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    path = os.path.join(material_dir(), f"app-{hashlib.sha1(common_name.encode()).hexdigest()[:12]}.pem")
    with open(path, "wb") as handle:
        handle.write(private_pem(key) + cert.public_bytes(serialization.Encoding.PEM))
    os.chmod(path, 0o600)
    return path, cert


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def thumbprints(cert) -> dict:
    """The JOSE thumbprints of a certificate: ``x5t`` (SHA-1) and ``x5t#S256`` (SHA-256), base64url."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return {"x5t": b64url(hashlib.sha1(der).digest()), "x5t#S256": b64url(hashlib.sha256(der).digest())}


def sha1_hex(cert) -> str:
    """The thumbprint as the Entra portal shows it (upper-case hex SHA-1)."""
    return cert.fingerprint(hashes.SHA1()).hex().upper()
