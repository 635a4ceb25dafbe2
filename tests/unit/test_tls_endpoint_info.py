"""tls_endpoint_info against real TLS servers on loopback (Python's ssl, OpenSSL underneath)."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509

from library.tls_endpoint_info import main
from tests.support.module_runner import ok, run_module
from tests.support.testpki import TestCA


@contextlib.contextmanager
def tls_server(cert: Path, key: Path, *, client_ca: Path | None = None, versions=("TLSv1.2", "TLSv1.3")):
    """A TLS server on 127.0.0.1 that completes handshakes and closes; yields its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.minimum_version = getattr(ssl.TLSVersion, versions[0].replace(".", "_"))
    context.maximum_version = getattr(ssl.TLSVersion, versions[-1].replace(".", "_"))
    if client_ca is not None:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            with raw:
                raw.settimeout(5)
                try:
                    with context.wrap_socket(raw, server_side=True) as tls:
                        tls.recv(1)
                except (ssl.SSLError, OSError):
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@pytest.fixture
def pki(tmp_path):
    ca = TestCA(tmp_path, "deployment-ca")
    server = ca.issue("pacs-edge", dns_names=("pacs-edge", "localhost"), client=False)
    client = ca.issue("pacs-client", dns_names=("pacs-client",), server=False)
    other = TestCA(tmp_path, "other-ca")
    return ca, server, client, other


def test_reads_the_served_certificate(pki):
    ca, (cert, key), _client, _other = pki
    with tls_server(cert, key) as port:
        result = ok(main, {"host": "127.0.0.1", "port": port, "server_name": "pacs-edge", "ca_file": str(ca.cert_path)})
    parsed = x509.load_pem_x509_certificate(cert.read_bytes())
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    assert result["fingerprint_sha256"] == hashlib.sha256(der).hexdigest()
    assert result["common_name"] == "pacs-edge"
    assert result["issuer"] == "commonName=deployment-ca"
    assert result["sans"] == ["DNS:pacs-edge", "DNS:localhost"]
    assert int(result["serial"], 16) == parsed.serial_number
    assert result["days_to_expiry"] == 0  # TestCA leaves are valid for one day
    assert result["verified"] is True and result["verify_error"] is None
    assert result["changed"] is False


def test_a_certificate_of_another_ca_does_not_verify(pki):
    _ca, (cert, key), _client, other = pki
    with tls_server(cert, key) as port:
        result = ok(
            main, {"host": "127.0.0.1", "port": port, "server_name": "pacs-edge", "ca_file": str(other.cert_path)}
        )
    assert result["verified"] is False
    assert "certificate verify failed" in result["verify_error"] or "unable to get" in result["verify_error"]


def test_a_name_the_certificate_does_not_carry_does_not_verify(pki):
    ca, (cert, key), _client, _other = pki
    with tls_server(cert, key) as port:
        result = ok(main, {"host": "127.0.0.1", "port": port, "server_name": "elsewhere", "ca_file": str(ca.cert_path)})
    assert result["verified"] is False
    assert "elsewhere" in result["verify_error"] or "mismatch" in result["verify_error"].lower()


def test_versions_are_those_the_server_accepts(pki):
    _ca, (cert, key), _client, _other = pki
    with tls_server(cert, key, versions=("TLSv1.2", "TLSv1.2")) as port:
        result = ok(main, {"host": "127.0.0.1", "port": port, "versions": ["TLSv1.1", "TLSv1.2", "TLSv1.3"]})
    assert result["versions_accepted"] == ["TLSv1.2"]
    assert sorted(result["versions_refused"]) == ["TLSv1.1", "TLSv1.3"]
    assert result["verified"] is None


def test_mutual_tls_with_the_expected_client_certificate(pki):
    ca, (cert, key), (client_cert, client_key), _other = pki
    with tls_server(cert, key, client_ca=ca.cert_path) as port:
        result = ok(
            main,
            {
                "host": "127.0.0.1",
                "port": port,
                "server_name": "pacs-edge",
                "ca_file": str(ca.cert_path),
                "cert_file": str(client_cert),
                "key_file": str(client_key),
            },
        )
    assert result["common_name"] == "pacs-edge"
    assert result["verified"] is True
    assert result["versions_accepted"] == ["TLSv1.2", "TLSv1.3"]


def test_mutual_tls_refusing_the_client_still_shows_certificate_and_versions(pki):
    """A client certificate from another CA: TLS 1.2 ends in the server's alert, TLS 1.3 after the handshake."""
    ca, (cert, key), _client, other = pki
    stranger_cert, stranger_key = other.issue("stranger", server=False)
    with tls_server(cert, key, client_ca=ca.cert_path) as port:
        result = ok(
            main,
            {
                "host": "127.0.0.1",
                "port": port,
                "cert_file": str(stranger_cert),
                "key_file": str(stranger_key),
                "versions": ["TLSv1.2", "TLSv1.3"],
            },
        )
    assert result["common_name"] == "pacs-edge"
    assert result["versions_accepted"] == ["TLSv1.2", "TLSv1.3"]


def test_a_closed_port_fails_with_the_address(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
    result = run_module(main, {"host": "127.0.0.1", "port": port})
    assert result.failed
    assert f"127.0.0.1:{port}" in result["msg"]


def test_a_port_out_of_range_is_refused():
    result = run_module(main, {"host": "127.0.0.1", "port": 70000})
    assert result.failed and "1-65535" in result["msg"]
