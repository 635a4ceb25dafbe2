"""dicom_association_probe: PDU building, and the probe against a real storescp behind a real ghostunnel.

storescp (dcmtk) and ghostunnel are installed by set-up (`./lab test` runs it first); the
processes run on 127.0.0.1 only and are stopped by their pid at the end of the module.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from library.dicom_association_probe import probe
from module_utils.dicom_pdu import associate_rq, check_ae_title, describe_reject, read_pdu_header, release_rq
from tests.support.testpki import TestCA

ROOT = Path(__file__).resolve().parents[2]
GHOSTUNNEL = ROOT / ".lab" / "bin" / "ghostunnel-v1.8.4"


def test_associate_rq_layout():
    pdu = associate_rq("PACS", "CLIENT")
    pdu_type, length = read_pdu_header(pdu[:6])
    assert pdu_type == 0x01
    assert length == len(pdu) - 6
    assert struct.unpack(">H", pdu[6:8])[0] == 1  # protocol version
    assert pdu[10:26] == b"PACS".ljust(16)
    assert pdu[26:42] == b"CLIENT".ljust(16)
    assert pdu[42:74] == bytes(32)
    assert pdu[74] == 0x10  # application context item first
    assert b"1.2.840.10008.1.1" in pdu and b"1.2.840.10008.1.2" in pdu


def test_release_rq_layout():
    assert release_rq() == b"\x05\x00\x00\x00\x00\x04\x00\x00\x00\x00"


@pytest.mark.parametrize("title", ["", "A" * 17, "BACK\\SLASH", "   ", "TAB\tX"])
def test_bad_ae_titles_are_refused(title):
    with pytest.raises(ValueError):
        check_ae_title(title)


def test_sixteen_character_ae_title_is_fine():
    assert check_ae_title("DICOOGLE-STORAGE") == "DICOOGLE-STORAGE"


def test_reject_reasons_are_described():
    assert "called AE title not recognized" in describe_reject(bytes([0, 1, 1, 7]))
    assert "calling AE title not recognized" in describe_reject(bytes([0, 1, 1, 3]))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture(scope="module")
def tls_edge(tmp_path_factory):
    """storescp on loopback behind a ghostunnel server that allows only CN=dicom-client."""
    for binary in ("storescp", str(GHOSTUNNEL)):
        assert subprocess.run(["which", binary], capture_output=True).returncode == 0 or Path(binary).exists(), (
            f"{binary} is missing: run ./lab test (set-up installs dcmtk and builds ghostunnel)"
        )
    folder = tmp_path_factory.mktemp("probe-pki")
    ca = TestCA(folder, "edge-ca")
    server_cert, server_key = ca.issue("pacs-edge", dns_names=("localhost",))
    client = ca.issue("dicom-client")
    intruder = ca.issue("intruder")
    rogue_ca = TestCA(folder, "rogue-ca")
    rogue = rogue_ca.issue("dicom-client")
    scp_port, tls_port = _free_port(), _free_port()
    received = folder / "received"
    received.mkdir()
    procs = [
        subprocess.Popen(["storescp", "-aet", "PACS", "-od", str(received), str(scp_port)]),
        subprocess.Popen(
            [
                str(GHOSTUNNEL),
                "server",
                "--listen",
                f"127.0.0.1:{tls_port}",
                "--target",
                f"127.0.0.1:{scp_port}",
                "--cert",
                str(server_cert),
                "--key",
                str(server_key),
                "--cacert",
                str(ca.cert_path),
                "--allow-cn",
                "dicom-client",
                "--quiet=conns",
            ],
        ),
    ]
    try:
        _wait_port(scp_port)
        _wait_port(tls_port)
        yield {
            "ca": ca.cert_path,
            "client": client,
            "intruder": intruder,
            "rogue": rogue,
            "scp_port": scp_port,
            "tls_port": tls_port,
        }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def _params(**overrides):
    params = {
        "host": "127.0.0.1",
        "port": None,
        "tls": True,
        "client_cert": None,
        "client_key": None,
        "ca_cert": None,
        "server_name": "localhost",
        "calling_aet": "PROBE",
        "called_aet": "PACS",
        "timeout": 5.0,
    }
    params.update(overrides)
    return params


def test_plain_association_to_storescp_is_accepted(tls_edge):
    result = probe(_params(port=tls_edge["scp_port"], tls=False))
    assert result["accepted"], result
    assert result["response"] == "A-ASSOCIATE-AC"


def test_allowed_client_certificate_is_accepted(tls_edge):
    cert, key = tls_edge["client"]
    result = probe(
        _params(port=tls_edge["tls_port"], client_cert=str(cert), client_key=str(key), ca_cert=str(tls_edge["ca"]))
    )
    assert result["accepted"], result
    assert result["tls_version"] in ("TLSv1.2", "TLSv1.3")


def test_no_client_certificate_is_refused(tls_edge):
    result = probe(_params(port=tls_edge["tls_port"], ca_cert=str(tls_edge["ca"])))
    assert not result["accepted"], result
    assert result["stage"] in ("tls", "association")


def test_certificate_from_another_ca_is_refused(tls_edge):
    cert, key = tls_edge["rogue"]
    result = probe(
        _params(port=tls_edge["tls_port"], client_cert=str(cert), client_key=str(key), ca_cert=str(tls_edge["ca"]))
    )
    assert not result["accepted"], result


def test_valid_ca_wrong_identity_is_refused(tls_edge):
    cert, key = tls_edge["intruder"]
    result = probe(
        _params(port=tls_edge["tls_port"], client_cert=str(cert), client_key=str(key), ca_cert=str(tls_edge["ca"]))
    )
    assert not result["accepted"], result


def test_plain_dicom_to_the_tls_port_is_refused(tls_edge):
    result = probe(_params(port=tls_edge["tls_port"], tls=False))
    assert not result["accepted"], result
    assert result["response"] != "A-ASSOCIATE-AC"


def test_server_certificate_must_match_the_name(tls_edge):
    cert, key = tls_edge["client"]
    result = probe(
        _params(
            port=tls_edge["tls_port"],
            client_cert=str(cert),
            client_key=str(key),
            ca_cert=str(tls_edge["ca"]),
            server_name="not-the-edge.example",
        )
    )
    assert not result["accepted"], result
    assert result["stage"] == "tls"


def test_closed_port_is_reported_at_tcp_stage():
    result = probe(_params(port=_free_port(), tls=False))
    assert not result["accepted"]
    assert result["stage"] == "tcp"


def test_contents_are_written_privately_then_used(tmp_path, tls_edge):
    from library.dicom_association_probe import materialize_contents

    cert, key = tls_edge["client"]
    params = _params(
        port=tls_edge["tls_port"],
        client_cert_content=cert.read_text(),
        client_key_content=key.read_text(),
        ca_cert_content=tls_edge["ca"].read_text(),
    )
    params = materialize_contents(params, str(tmp_path))
    for name in ("client_cert", "client_key", "ca_cert"):
        assert (tmp_path / f"{name}.pem").stat().st_mode & 0o777 == 0o600
    assert probe(params)["accepted"]
