#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dicom_association_probe
short_description: Ask a DICOM service, in plain TCP or through (mutual) TLS, whether it accepts an association
description:
  - Opens a TCP connection, optionally wraps it in TLS with an optional client certificate, sends a DICOM
    A-ASSOCIATE-RQ proposing the Verification SOP class, and reports whether an A-ASSOCIATE-AC came back.
    An accepted association is released cleanly.
  - Reports the stage a refusal happened at (C(tcp), C(tls), C(association)), so a test can tell a TLS edge
    that refuses a client certificate from a PACS that refuses an AE title.
  - Never changes anything; supports check mode.
version_added: "1.0.0"
options:
  host:
    description: Host name or address to connect to.
    type: str
    required: true
  port:
    description: TCP port.
    type: int
    required: true
  tls:
    description: Wrap the connection in TLS.
    type: bool
    default: true
  client_cert:
    description: PEM client certificate path on the probing host. Omit to offer no client certificate.
    type: path
  client_key:
    description: PEM private key path of I(client_cert).
    type: path
  ca_cert:
    description: PEM CA bundle the server certificate must chain to; with I(tls=true), this or I(ca_cert_content).
    type: path
  client_cert_content:
    description:
      - PEM client certificate, instead of I(client_cert). With I(client_key_content), written to a private
        temporary folder (0700, files 0600) on the probing host only for the probe and removed afterwards.
    type: str
  client_key_content:
    description: PEM private key of I(client_cert_content). Never logged.
    type: str
  ca_cert_content:
    description: PEM CA bundle, instead of I(ca_cert).
    type: str
  server_name:
    description: Name checked against the server certificate (SNI and hostname check). Defaults to I(host).
    type: str
  calling_aet:
    description: Calling AE title.
    type: str
    default: PROBE
  called_aet:
    description: Called AE title.
    type: str
    required: true
  timeout:
    description: Seconds allowed for each network step.
    type: float
    default: 10
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: A client certificate from another CA is refused at the TLS edge
  dicom_association_probe:
    host: dimse.pacs.internal
    port: 16666
    client_cert: /tmp/probe/rogue.crt
    client_key: /tmp/probe/rogue.key
    ca_cert: /etc/pacs-dicom/tls/ca.crt
    called_aet: DICOOGLE-STORAGE
  register: rogue
  failed_when: rogue.accepted
"""

RETURN = r"""
accepted:
  description: Whether the service answered with A-ASSOCIATE-AC.
  returned: always
  type: bool
stage:
  description: The last stage reached; C(association) when the PDU exchange happened.
  returned: always
  type: str
  sample: tls
response:
  description: The PDU type received (e.g. A-ASSOCIATE-AC, A-ASSOCIATE-RJ, A-ABORT), or C(none).
  returned: always
  type: str
detail:
  description: What happened, in words (the reject reason or the network/TLS error).
  returned: always
  type: str
tls_version:
  description: The negotiated TLS version, when the handshake completed.
  returned: when tls is true and the handshake completed
  type: str
"""

import os
import shutil
import socket
import ssl
import tempfile

from ansible.module_utils.basic import AnsibleModule

try:
    from ansible.module_utils.dicom_pdu import PDU_TYPES, associate_rq, describe_reject, read_pdu_header, release_rq
except ImportError:  # running from the project tree (unit tests)
    from module_utils.dicom_pdu import PDU_TYPES, associate_rq, describe_reject, read_pdu_header, release_rq


def _recv_exact(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def _tls_context(params):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=params["ca_cert"])
    if params["client_cert"]:
        context.load_cert_chain(params["client_cert"], params["client_key"])
    return context


def probe(params):
    """Return the module's result dict for one association attempt."""
    result = {"accepted": False, "stage": "tcp", "response": "none", "detail": ""}
    try:
        request = associate_rq(params["called_aet"], params["calling_aet"])
    except ValueError as err:
        raise ValueError(f"bad AE title: {err}") from err
    try:
        raw = socket.create_connection((params["host"], params["port"]), timeout=params["timeout"])
    except OSError as err:
        result["detail"] = f"TCP connection failed: {err}"
        return result
    conn = raw
    try:
        if params["tls"]:
            result["stage"] = "tls"
            context = _tls_context(params)
            conn = context.wrap_socket(raw, server_hostname=params["server_name"] or params["host"])
            result["tls_version"] = conn.version()
        result["stage"] = "association"
        conn.sendall(request)
        pdu_type, length = read_pdu_header(_recv_exact(conn, 6))
        body = _recv_exact(conn, length)
        result["response"] = PDU_TYPES.get(pdu_type, f"unknown PDU type {pdu_type:#04x}")
        if pdu_type == 0x02:
            result["accepted"] = True
            result["detail"] = "association accepted"
            conn.sendall(release_rq())
            _recv_exact(conn, 6)
        elif pdu_type == 0x03:
            result["detail"] = describe_reject(body)
        else:
            result["detail"] = f"answered {result['response']}"
    except (OSError, ssl.SSLError, ConnectionError, ValueError) as err:
        result["detail"] = f"{type(err).__name__}: {err}"
    finally:
        conn.close()
    return result


def materialize_contents(params, folder):
    """Write the *_content options as 0600 files in folder and point the path options at them."""
    for name in ("client_cert", "client_key", "ca_cert"):
        content = params.get(f"{name}_content")
        if content:
            path = os.path.join(folder, name + ".pem")
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(content)
            params[name] = path
    return params


def main():
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "required": True},
            "port": {"type": "int", "required": True},
            "tls": {"type": "bool", "default": True},
            "client_cert": {"type": "path"},
            "client_key": {"type": "path", "no_log": False},
            "ca_cert": {"type": "path"},
            "client_cert_content": {"type": "str"},
            "client_key_content": {"type": "str", "no_log": True},
            "ca_cert_content": {"type": "str"},
            "server_name": {"type": "str"},
            "calling_aet": {"type": "str", "default": "PROBE"},
            "called_aet": {"type": "str", "required": True},
            "timeout": {"type": "float", "default": 10.0},
        },
        required_if=[("tls", True, ["ca_cert", "ca_cert_content"], True)],
        required_together=[("client_cert", "client_key"), ("client_cert_content", "client_key_content")],
        mutually_exclusive=[("client_cert", "client_cert_content"), ("ca_cert", "ca_cert_content")],
        supports_check_mode=True,
    )
    if not 1 <= module.params["port"] <= 65535:
        module.fail_json(msg=f"port must be 1-65535, got {module.params['port']}")
    folder = tempfile.mkdtemp(prefix="dicom-probe-")
    try:
        result = probe(materialize_contents(dict(module.params), folder))
    except ValueError as err:
        module.fail_json(msg=str(err))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
