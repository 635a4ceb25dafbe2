#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tls_endpoint_info
short_description: Read the certificate a TLS port serves and the TLS versions it accepts
description:
  - Connects to a TLS port the way a client does and returns the certificate the server presents (subject,
    subject alternative names, issuer, serial, validity, days to expiry, SHA-256 fingerprint), whether that
    certificate verifies against a CA bundle, and which TLS versions the server accepts.
  - Works against mutual-TLS servers (ghostunnel) too; give the client certificate the server expects. A server
    that refuses the client's identity still shows its certificate in TLS 1.3 and still shows which versions it
    negotiates: a handshake that ends in an alert about the client's certificate counts as a version accepted.
  - Read-only (the server sees a connection and its close); supports check mode. Python's standard library only,
    so it runs on any host with Python 3.11+ (Debian 12's).
version_added: "1.0.0"
options:
  host:
    description: Address to connect to.
    type: str
    required: true
  port:
    description: TCP port.
    type: int
    required: true
  server_name:
    description: Name sent in SNI and checked against the certificate when O(ca_file) is given. Defaults to O(host).
    type: str
  ca_file:
    description: CA bundle the served certificate is verified against (RV(verified)); without it RV(verified) is null.
    type: path
  cert_file:
    description: Client certificate (PEM) to present, for servers that require one.
    type: path
  key_file:
    description: Key of O(cert_file) (PEM).
    type: path
  versions:
    description: TLS versions to try one at a time for RV(versions_accepted).
    type: list
    elements: str
    choices: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
    default: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
  timeout:
    description: Seconds for each connection.
    type: float
    default: 10
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Read the certificate of the storage TLS port, as the DICOM client sees it
  tls_endpoint_info:
    host: 172.30.0.10
    port: 11045
    ca_file: /etc/ghostunnel/pacs/ca.pem
    cert_file: /etc/ghostunnel/pacs/cert.pem
    key_file: /etc/ghostunnel/pacs/key.pem
    server_name: pacs-edge
  register: storage_tls
"""

RETURN = r"""
subject:
  description: Subject of the served certificate, as C(CN=..., O=...).
  returned: success
  type: str
common_name:
  description: Common name of the served certificate, or null.
  returned: success
  type: str
sans:
  description: Subject alternative names, as C(DNS:name) and C(IP Address:addr).
  returned: success
  type: list
  elements: str
issuer:
  description: Issuer of the served certificate, as C(CN=...).
  returned: success
  type: str
serial:
  description: Serial number (hexadecimal).
  returned: success
  type: str
not_before:
  description: Start of validity (ISO 8601, UTC).
  returned: success
  type: str
not_after:
  description: End of validity (ISO 8601, UTC).
  returned: success
  type: str
days_to_expiry:
  description: Whole days left until RV(not_after) (negative once expired).
  returned: success
  type: int
fingerprint_sha256:
  description: SHA-256 of the certificate's DER bytes, lower-case hexadecimal without separators.
  returned: success
  type: str
verified:
  description: Whether the certificate verifies against O(ca_file) for O(server_name); null without O(ca_file).
  returned: success
  type: bool
verify_error:
  description: Why verification failed, or null.
  returned: success
  type: str
versions_accepted:
  description: The versions of O(versions) the server negotiated.
  returned: success
  type: list
  elements: str
versions_refused:
  description: The versions of O(versions) the server refused, each with the reason.
  returned: success
  type: dict
"""

import datetime
import hashlib
import os
import socket
import ssl
import tempfile
import warnings

from ansible.module_utils.basic import AnsibleModule

VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
# Handshake errors that mean the two sides found no common version (or none the local library allows).
_NO_COMMON_VERSION = (
    "UNSUPPORTED_PROTOCOL",
    "PROTOCOL_VERSION",
    "NO_PROTOCOLS_AVAILABLE",
    "WRONG_VERSION_NUMBER",
    "VERSION_TOO_LOW",
    "VERSION_TOO_HIGH",
    "NO_CIPHERS_AVAILABLE",
    "NO_SHARED_CIPHER",
    "HANDSHAKE_FAILURE",
)
# Alerts a server sends after it has negotiated a version, about the client's certificate.
_CLIENT_CERT_REFUSED = ("BAD_CERTIFICATE", "CERTIFICATE_REQUIRED", "UNKNOWN_CA", "CERTIFICATE_UNKNOWN", "ACCESS_DENIED")


def _context(params, verify, minimum=None, maximum=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        context.load_verify_locations(cafile=params["ca_file"])
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        # Let the probe offer old versions and suites, so that a server accepting them is seen.
        context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        # Python deprecates TLS 1.0 and 1.1; probing whether a server still accepts them is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        if minimum is not None:
            context.minimum_version = minimum
        if maximum is not None:
            context.maximum_version = maximum
    if params["cert_file"]:
        context.load_cert_chain(params["cert_file"], params["key_file"])
    return context


def _handshake(params, context):
    """Connect and complete a handshake; return the peer's DER certificate (None when not sent)."""
    server_name = params["server_name"] or params["host"]
    # In TLS 1.3 the server judges the client certificate after this side has finished: a refused
    # client still has the certificate and the version, which is what this module reports.
    with (
        socket.create_connection((params["host"], params["port"]), timeout=params["timeout"]) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        return tls.getpeercert(binary_form=True)


def _decode(der):
    """Decode a DER certificate with the standard library (the ssl module's own decoder)."""
    pem = ssl.DER_cert_to_PEM_cert(der)
    with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as handle:
        handle.write(pem)
        path = handle.name
    try:
        return ssl._ssl._test_decode_cert(path)  # pylint: disable=protected-access
    finally:
        os.unlink(path)


def _name(rdns):
    return ", ".join(f"{key}={value}" for rdn in rdns for key, value in rdn)


def _when(text):
    return datetime.datetime.fromtimestamp(ssl.cert_time_to_seconds(text), tz=datetime.UTC)


def describe(der, now=None):
    """The served certificate's fields, from its DER bytes."""
    now = now or datetime.datetime.now(datetime.UTC)
    decoded = _decode(der)
    subject = decoded.get("subject", ())
    not_after = _when(decoded["notAfter"])
    common = [value for rdn in subject for key, value in rdn if key == "commonName"]
    return {
        "subject": _name(subject),
        "common_name": common[0] if common else None,
        "sans": [f"{kind}:{value}" for kind, value in decoded.get("subjectAltName", ())],
        "issuer": _name(decoded.get("issuer", ())),
        "serial": decoded.get("serialNumber", "").lower(),
        "not_before": _when(decoded["notBefore"]).isoformat(),
        "not_after": not_after.isoformat(),
        "days_to_expiry": (not_after - now).days,
        "fingerprint_sha256": hashlib.sha256(der).hexdigest(),
    }


def probe_versions(params):
    """(accepted, refused) for the versions asked for."""
    accepted, refused = [], {}
    for name in params["versions"]:
        version = VERSIONS[name]
        try:
            _handshake(params, _context(params, verify=False, minimum=version, maximum=version))
        except ssl.SSLError as err:
            text = str(err).upper()
            if any(code in text for code in _CLIENT_CERT_REFUSED) and not any(
                code in text for code in _NO_COMMON_VERSION
            ):
                accepted.append(name)  # negotiated, then the server refused the client's identity
            else:
                refused[name] = str(err)
        except OSError as err:
            refused[name] = f"{type(err).__name__}: {err}"
        else:
            accepted.append(name)
    return accepted, refused


def main():
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "required": True},
            "port": {"type": "int", "required": True},
            "server_name": {"type": "str"},
            "ca_file": {"type": "path"},
            "cert_file": {"type": "path"},
            "key_file": {"type": "path", "no_log": False},
            "versions": {
                "type": "list",
                "elements": "str",
                "choices": list(VERSIONS),
                "default": list(VERSIONS),
            },
            "timeout": {"type": "float", "default": 10},
        },
        required_together=[("cert_file", "key_file")],
        supports_check_mode=True,
    )
    params = module.params
    if not 1 <= params["port"] <= 65535:
        module.fail_json(msg=f"port must be 1-65535, got {params['port']}")
    try:
        der = _handshake(params, _context(params, verify=False))
    except (OSError, ssl.SSLError) as err:
        module.fail_json(msg=f"no TLS handshake with {params['host']}:{params['port']}: {err}")
    if not der:
        module.fail_json(msg=f"{params['host']}:{params['port']} completed a handshake without a certificate")
    result = describe(der)
    result["verified"], result["verify_error"] = None, None
    if params["ca_file"]:
        try:
            _handshake(params, _context(params, verify=True))
            result["verified"] = True
        except ssl.SSLCertVerificationError as err:
            result["verified"], result["verify_error"] = False, err.verify_message or str(err)
        except (OSError, ssl.SSLError) as err:
            result["verified"], result["verify_error"] = False, str(err)
    result["versions_accepted"], result["versions_refused"] = probe_versions(params)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
