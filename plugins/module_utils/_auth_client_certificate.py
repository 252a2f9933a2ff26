# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Authentication with a certificate: a PEM file holding the private key and the certificate.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import re

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.entra.membership.plugins.module_utils._auth_base import MsalAuthMethodBase
from ansible_collections.entra.membership.plugins.module_utils._errors import EntraConfigError

_PEM_BLOCK = re.compile(r'-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----', re.S)


def _cryptography():
    """``(x509, hashes, serialization, rsa)``, imported on first use: the largest import of a run, needed by this method only.

    msal depends on cryptography, so it is missing only when msal is missing too.
    """
    try:
        # pylint: disable=import-outside-toplevel
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError as exc:
        raise EntraConfigError('%s (%s)' % (missing_required_lib('cryptography'), exc)) from None
    return x509, hashes, serialization, rsa


def _public_der(key, serialization):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


class ClientCertificateAuth(MsalAuthMethodBase):
    NAME = 'client certificate'

    def __init__(self, settings, http_client):
        super().__init__(settings, http_client)
        self._path = settings.client_certificate_path
        self._password = settings.client_certificate_password
        self._private_key_pem, self.thumbprint = self._load()

    def _fail(self, reason):
        return EntraConfigError("client_certificate_path '%s' %s" % (self._path, reason))

    def _load(self):
        x509, hashes, serialization, rsa = _cryptography()
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
            if _public_der(certificate.public_key(), serialization) == _public_der(key.public_key(), serialization):
                break
        else:
            raise self._fail('holds no certificate for its private key')
        # MSAL signs the assertion (RS256, x5t) with the key handed over decrypted, so the
        # password stays here and every MSAL version >= 1.24 takes the same input.
        thumbprint = certificate.fingerprint(hashes.SHA1()).hex().upper()  # nosec - x5t is the SHA-1 thumbprint by definition
        unencrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        return unencrypted.decode('ascii'), thumbprint

    def client_credential(self):
        return {'private_key': self._private_key_pem, 'thumbprint': self.thumbprint}

    def secrets(self):
        return tuple(value for value in (self._password, self._private_key_pem) if value)
