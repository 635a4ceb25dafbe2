"""The two scripts the DICOM host roles install, run on this machine without containers.

- roles/dicom_host_common/files/pacs-tls-check: the check before every ghostunnel start and reload;
- roles/dicom_client/templates/pacs-dicom.j2: the client's one command, rendered as Ansible renders
  it (Jinja2, trim_blocks, the quote filter) and run against dcmtk's own SCPs on loopback: dcmqrscp
  as the PACS and storescp as the C-MOVE destination (no TLS here; the molecule scenario
  dicom_client runs it through the tunnels).
"""

from __future__ import annotations

import datetime
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

import jinja2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.synthetic_dicom import generate

ROOT = Path(__file__).resolve().parents[2]
TLS_CHECK = ROOT / "roles" / "dicom_host_common" / "files" / "pacs-tls-check"
PACS_DICOM = ROOT / "roles" / "dicom_client" / "templates" / "pacs-dicom.j2"
SAMPLES = ROOT / "data" / "dicom"
NOW = datetime.datetime.now(datetime.UTC)

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
needs_dcmtk = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("dcmqrscp", "storescp", "echoscu", "dcmftest")),
    reason="dcmtk is not installed",
)


# --- pacs-tls-check -------------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(ca, cn: str, usages, not_before=None, not_after=None):
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - datetime.timedelta(hours=1))
        .not_valid_after(not_after or NOW + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _write(folder: Path, name: str, key=None, cert=None) -> None:
    if cert is not None:
        (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        (folder / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    ca = _ca("test CA")
    _write(folder, "ca", cert=ca[1])
    _write(folder, "other-ca", cert=_ca("other CA")[1])
    server, client = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
    _write(folder, "server", *_leaf(ca, "storage-node", [server]))
    _write(folder, "client", *_leaf(ca, "dicom-client", [client]))
    _write(folder, "both", *_leaf(ca, "pacs-edge", [server, client]))
    _write(folder, "other", key=ec.generate_private_key(ec.SECP256R1()))
    expired = _leaf(ca, "expired", [server], NOW - datetime.timedelta(days=3), NOW - datetime.timedelta(days=1))
    _write(folder, "expired", *expired)
    early = _leaf(ca, "early", [server], NOW + datetime.timedelta(days=1), NOW + datetime.timedelta(days=2))
    _write(folder, "early", *early)
    return folder


def tls_check(pki: Path, cert: str, key: str, ca: str = "ca", *purposes: str) -> subprocess.CompletedProcess:
    args = [f"--purpose={purpose}" for purpose in purposes]
    files = [str(pki / f"{cert}.pem"), str(pki / f"{key}.key"), str(pki / f"{ca}.pem")]
    return subprocess.run([str(TLS_CHECK), *args, *files], capture_output=True, text=True, check=False)


@needs_openssl
@pytest.mark.parametrize(
    ("cert", "purposes"),
    [("server", ["sslserver"]), ("client", ["sslclient"]), ("both", ["sslserver", "sslclient"]), ("server", [])],
)
def test_tls_check_accepts_a_fitting_identity(pki, cert, purposes):
    result = tls_check(pki, cert, cert, "ca", *purposes)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


@needs_openssl
@pytest.mark.parametrize(
    ("cert", "key", "ca", "purposes", "reason"),
    [
        ("server", "other", "ca", ["sslserver"], "does not belong"),
        ("server", "client", "ca", ["sslserver"], "does not belong"),
        ("server", "server", "other-ca", ["sslserver"], "does not chain"),
        ("server", "server", "ca", ["sslclient"], "does not chain"),
        ("client", "client", "ca", ["sslserver"], "does not chain"),
        ("expired", "expired", "ca", ["sslserver"], "expired"),
        ("early", "early", "ca", ["sslserver"], "not valid yet"),
    ],
)
def test_tls_check_refuses(pki, cert, key, ca, purposes, reason):
    result = tls_check(pki, cert, key, ca, *purposes)
    assert result.returncode == 1
    assert reason in result.stderr


def test_tls_check_usage():
    result = subprocess.run([str(TLS_CHECK), "only-one-file"], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "usage" in result.stderr


# --- pacs-dicom -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def render_pacs_dicom(dest: Path, store_port: int, query_port: int, associations: int = 2) -> Path:
    """Render the template as the role does (ansible: trim_blocks, `quote` = shlex.quote)."""
    environment = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701
    environment.filters["quote"] = shlex.quote
    script = environment.from_string(PACS_DICOM.read_text()).render(
        ansible_managed="Ansible managed",
        dicom_client_aet="DCMTK-CLIENT",
        dicom_client_pacs_aet="DICOOGLE-STORAGE",
        dicom_client_move_destination_aet="STORAGE-NODE",
        dicom_client_storage_local_port=store_port,
        dicom_client_query_local_port=query_port,
        dicom_client_pacs_endpoint="dimse.pacs.internal",
        dicom_client_store_associations=associations,
    )
    dest.write_text(script)
    dest.chmod(0o755)
    return dest


def _start_scp(argv: list[str], cwd: Path, log) -> subprocess.Popen:
    """Start a dcmtk SCP in cwd, its output in log (TCP_NODELAY as pacs-dicom sets it)."""
    return subprocess.Popen(argv, cwd=cwd, env={"TCP_NODELAY": "1", "PATH": "/usr/bin:/bin"}, stdout=log, stderr=log)


def _wait_answering(port: int, aet: str, process: subprocess.Popen) -> None:
    """Wait for a C-ECHO to succeed (a bare TCP probe is an error to dcmqrscp)."""
    for _ in range(100):
        assert process.poll() is None, "the SCP exited"
        echo = subprocess.run(["echoscu", "-aec", aet, "127.0.0.1", str(port)], capture_output=True, check=False)
        if echo.returncode == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"no C-ECHO answer on 127.0.0.1:{port}")


@pytest.fixture(scope="module")
def pacs(tmp_path_factory):
    """dcmqrscp as DICOOGLE-STORAGE, moving to a storescp STORAGE-NODE; both on loopback ports."""
    base = tmp_path_factory.mktemp("pacs")
    (base / "db").mkdir()
    (base / "moved").mkdir()
    qr_port, dest_port = _free_port(), _free_port()
    config = base / "dcmqrscp.cfg"
    config.write_text(
        f"NetworkTCPPort = {qr_port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        f"HostTable BEGIN\nstorage_node = (STORAGE-NODE, 127.0.0.1, {dest_port})\nHostTable END\n"
        "VendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\nDICOOGLE-STORAGE {base / 'db'} RW (200, 1024mb) ANY\nAETable END\n"
    )
    log = (base / "scp.log").open("w")
    engine = _start_scp(["dcmqrscp", "-c", str(config)], base, log)
    moved = base / "moved"
    destination = _start_scp(["storescp", "-aet", "STORAGE-NODE", "-od", str(moved), str(dest_port)], base, log)
    try:
        _wait_answering(qr_port, "DICOOGLE-STORAGE", engine)
        _wait_answering(dest_port, "STORAGE-NODE", destination)
        yield {"port": qr_port, "moved": base / "moved", "base": base}
    finally:
        for process in (engine, destination):
            process.terminate()
            process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def pacs_dicom(pacs, tmp_path_factory) -> Path:
    # Both "tunnels" lead straight to dcmqrscp here. One association at a time: dcmqrscp's forked
    # children can give two instances stored at once the same file name (seen as a C-MOVE failure
    # DataSetDoesNotMatchSOPClass); the shares are tested against storescp below.
    return render_pacs_dicom(tmp_path_factory.mktemp("bin") / "pacs-dicom", pacs["port"], pacs["port"], 1)


@pytest.fixture
def store_scp(tmp_path):
    """storescp --fork on a loopback port, one file per instance (named by SOP instance UID)."""
    port, received = _free_port(), tmp_path / "received"
    received.mkdir()
    log = (tmp_path / "storescp.log").open("w")
    scp = _start_scp(["storescp", "--fork", "-aet", "DICOOGLE-STORAGE", "-od", str(received), str(port)], tmp_path, log)
    try:
        _wait_answering(port, "DICOOGLE-STORAGE", scp)
        yield {"port": port, "received": received}
    finally:
        scp.terminate()
        scp.wait(timeout=10)
        log.close()


def run(command: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(command), *args], capture_output=True, text=True, timeout=120, check=False)


def dicom_value(path: Path, tag: str) -> str:
    out = subprocess.run(["dcmdump", "-q", "-s", "+P", tag, str(path)], capture_output=True, text=True, check=True)
    return out.stdout.split("[", 1)[1].split("]", 1)[0]


def test_pacs_dicom_is_valid_bash(tmp_path):
    script = render_pacs_dicom(tmp_path / "pacs-dicom", 16666, 11045)
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    text = script.read_text()
    assert "readonly CALLING_AET=DCMTK-CLIENT" in text
    assert "readonly STORE_PORT=16666" in text and "readonly QUERY_PORT=11045" in text
    assert "{%" not in text and "{{" not in text


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["echo", "extra"],
        ["store"],
        ["store", "/nonexistent.dcm"],
        ["find", "--study-uid", "1.2.x"],
        ["find", "--unknown"],
        ["move"],
        ["move", "not-a-uid"],
        ["move", "1.2.3", "BAD\\AE"],
        ["move", "1.2.3", "SEVENTEEN-CHARS-X"],
    ],
)
def test_pacs_dicom_usage_errors_exit_2(tmp_path, args):
    script = render_pacs_dicom(tmp_path / "pacs-dicom", 16666, 11045)
    assert run(script, *args).returncode == 2


def test_pacs_dicom_help(tmp_path):
    script = render_pacs_dicom(tmp_path / "pacs-dicom", 16666, 11045)
    result = run(script, "help")
    assert result.returncode == 0
    assert "pacs-dicom [-v] move STUDY_UID [DEST_AE]" in result.stdout
    assert "(default STORAGE-NODE)" in result.stdout


@needs_dcmtk
def test_pacs_dicom_echo_fails_without_a_tunnel(tmp_path):
    script = render_pacs_dicom(tmp_path / "pacs-dicom", _free_port(), _free_port())
    result = run(script, "echo")
    assert result.returncode == 1
    assert result.stderr.count("FAILED") == 2


@needs_dcmtk
def test_pacs_dicom_echo_store_find_move(pacs_dicom, pacs, tmp_path):
    echo = run(pacs_dicom, "echo")
    assert echo.returncode == 0, echo.stderr
    assert echo.stdout.count(": OK") == 2

    folder = tmp_path / "upload"
    (folder / "series").mkdir(parents=True)
    for name in ("1-01.dcm", "1-02.dcm"):
        shutil.copy(SAMPLES / name, folder / "series" / name)
    (folder / "notes.txt").write_text("not DICOM\n")
    store = run(pacs_dicom, "store", str(folder))
    assert store.returncode == 0, store.stderr
    assert "C-STORE of 2 file(s)" in store.stdout
    assert "skipped, not a DICOM file" in store.stderr and "notes.txt" in store.stderr

    study_uid = dicom_value(SAMPLES / "1-01.dcm", "0020,000d")
    patient_id = dicom_value(SAMPLES / "1-01.dcm", "0010,0020")
    found = run(pacs_dicom, "find", "--patient-id", patient_id)
    assert found.returncode == 0, found.stderr
    rows = [line.split("\t") for line in found.stdout.splitlines()]
    assert rows[0][:3] == ["STUDY_INSTANCE_UID", "PATIENT_ID", "PATIENT_NAME"]
    assert [row[0] for row in rows[1:]] == [study_uid]
    assert rows[1][1] == patient_id
    assert "1 study found." in found.stderr
    none = run(pacs_dicom, "find", "--study-uid", "1.2.3.4")
    assert none.returncode == 0 and "0 studies found." in none.stderr

    move = run(pacs_dicom, "move", study_uid)
    assert move.returncode == 0, move.stderr
    sop_uids = {dicom_value(SAMPLES / name, "0008,0018") for name in ("1-01.dcm", "1-02.dcm")}
    moved = {path.name.split(".", 1)[1] for path in pacs["moved"].iterdir()}
    assert sop_uids <= moved


@needs_dcmtk
@pytest.mark.parametrize(("associations", "files", "opened"), [(3, 7, 3), (8, 2, 2), (1, 3, 1)])
def test_pacs_dicom_store_shares_the_files_among_its_associations(store_scp, tmp_path, associations, files, opened):
    script = render_pacs_dicom(tmp_path / "pacs-dicom", store_scp["port"], store_scp["port"], associations)
    made = generate(tmp_path / "upload", files, 8 * 1024, 1, 1, seed=f"share-{associations}-{files}")
    store = run(script, "-v", "store", str(tmp_path / "upload"))
    assert store.returncode == 0, store.stderr
    assert f"C-STORE of {files} file(s)" in store.stdout
    # -v shows each storescu's log: one accepted association per share, one response per file.
    assert store.stderr.count("I: Association Accepted") == opened
    assert store.stderr.count("I: Received Store Response (Success)") == len(made) == files
    assert sorted(path.name.split(".", 1)[1] for path in store_scp["received"].iterdir()) == sorted(
        item.sop_instance_uid for item in made
    )


@needs_dcmtk
def test_pacs_dicom_store_fails_when_one_association_fails(store_scp, tmp_path):
    script = render_pacs_dicom(tmp_path / "pacs-dicom", store_scp["port"], store_scp["port"], 2)
    generate(tmp_path / "upload", 3, 8 * 1024, 1, 1, seed="share-fail")
    # A file named on the command line is always sent: the second share's association fails on it.
    (tmp_path / "upload" / "zz-not-dicom.dcm").write_text("not DICOM\n")
    files = sorted(str(path) for path in (tmp_path / "upload").rglob("*.dcm"))
    store = run(script, "store", *files)
    assert store.returncode == 1
    assert "3 of 4 file(s) stored" in store.stderr


@needs_dcmtk
def test_pacs_dicom_dicom_failures_exit_1(pacs_dicom):
    study_uid = dicom_value(SAMPLES / "1-01.dcm", "0020,000d")
    unknown = run(pacs_dicom, "move", study_uid, "NOWHERE")
    assert unknown.returncode == 1
    assert "MoveDestinationUnknown" in unknown.stderr
    not_dicom = run(pacs_dicom, "store", str(SAMPLES / "README.md"))
    assert not_dicom.returncode == 1
    assert "0 of 1 file(s) stored" in not_dicom.stderr
