# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Authentication with a certificate: a PEM file holding the private key and the certificate.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import base64
import re
import threading
import time
import uuid

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.entra.membership.plugins.module_utils._errors import EntraConfigError

try:
    import jwt
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError:  # msal depends on PyJWT[crypto], so this only happens without msal too
    HAS_CRYPTOGRAPHY = False
else:
    HAS_CRYPTOGRAPHY = True

ASSERTION_LIFETIME = 600  # seconds; a new assertion is signed for every token request

_PEM_BLOCK = re.compile(r'-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----', re.S)


def _public_der(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


class ClientCertificateAuth:
    NAME = 'client certificate'
    USES_MSAL = True

    def __init__(self, settings):
        if not HAS_CRYPTOGRAPHY:
            raise EntraConfigError(missing_required_lib('PyJWT and cryptography'))
        self._path = settings.client_certificate_path
        self._password = settings.client_certificate_password
        self._client_id = settings.client_id
        self._audience = '%s/%s/oauth2/v2.0/token' % (settings.endpoints.authority_host, settings.tenant_id)
        self._key, self._x5t, self.thumbprint = self._load()
        self._signed = set()
        self._lock = threading.Lock()

    def _fail(self, reason):
        return EntraConfigError("client_certificate_path '%s' %s" % (self._path, reason))

    def _load(self):
        try:
            with open(self._path, 'rb') as handle:
                text = handle.read().decode('ascii', 'replace')
        except OSError as exc:
            raise self._fail('cannot be read: %s' % exc.strerror) from None
        blocks = [(match.group(1), match.group(0).encode('ascii')) for match in _PEM_BLOCK.finditer(text)]
        keys = [pem for label, pem in blocks if label.endswith('PRIVATE KEY')]
        certificates = [pem for label, pem in blocks if label == 'CERTIFICATE']
        if not keys or not certificates:
            raise self._fail('must hold a PEM private key and a PEM certificate')
        password = self._password.encode('utf-8') if self._password else None
        try:
            key = serialization.load_pem_private_key(keys[0], password=password)
        except TypeError:
            # cryptography: a password for a plain key, or none for an encrypted one.
            raise self._fail('holds an encrypted private key: set client_certificate_password' if password is None
                             else 'holds an unencrypted private key: client_certificate_password must not be set') from None
        except ValueError:
            raise self._fail('holds a private key that cannot be loaded: wrong client_certificate_password or not a key') from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise self._fail('holds a %s key: Microsoft Entra ID certificate credentials need an RSA key' % type(key).__name__)
        # A bundle may carry the chain too: the certificate to present is the one of this key.
        for pem in certificates:
            try:
                certificate = x509.load_pem_x509_certificate(pem)
            except ValueError:
                continue
            if _public_der(certificate.public_key()) == _public_der(key.public_key()):
                break
        else:
            raise self._fail('holds no certificate for its private key')
        sha1 = certificate.fingerprint(hashes.SHA1())  # nosec - x5t is the SHA-1 thumbprint by definition (RFC 7515)
        return key, _b64url(sha1), sha1.hex().upper()

    def _assertion(self):
        # Signed here rather than by MSAL from a thumbprint: MSAL's x5t keeps base64 padding, and
        # which header/algorithm it picks changed across versions; this is the RFC 7515 form
        # (x5t = unpadded base64url SHA-1, RS256) that the identity platform documents.
        now = int(time.time())
        claims = {'aud': self._audience, 'iss': self._client_id, 'sub': self._client_id, 'jti': str(uuid.uuid4()),
                  'nbf': now, 'iat': now, 'exp': now + ASSERTION_LIFETIME}
        assertion = jwt.encode(claims, self._key, algorithm='RS256', headers={'x5t': self._x5t, 'typ': 'JWT'})
        assertion = assertion.decode('ascii') if isinstance(assertion, bytes) else assertion
        with self._lock:
            self._signed.add(assertion)
        return assertion

    def msal_credential(self):
        return {'client_assertion': self._assertion}

    def secrets(self):
        with self._lock:
            return tuple(value for value in (self._password,) if value) + tuple(self._signed)
