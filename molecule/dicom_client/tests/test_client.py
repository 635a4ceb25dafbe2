"""Role dicom_client, checked on its host against a peer that plays the PACS.

The peer (molecule-dicom-client-pacs) answers as dimse.pacs.internal with ghostunnel servers
holding the pacs-edge identity (letting in dicom-client only) in front of dcmqrscp, whose C-MOVE
destination STORAGE-NODE is a storescp on the peer. Under /root/molecule-peer it has the test CA,
an "impostor" identity (same CA, the endpoint's DNS name, another CN) and the sample CT files.
"""

from __future__ import annotations

import subprocess

import pytest
import testinfra
from dicom_testlib import (
    GHOSTUNNEL_VERSION,
    PEER_DIR,
    PROJECT,
    listeners,
    main_pid,
    pacs_vars,
    pixel_sha256,
    proc_status,
    recap_changed,
    run_playbook,
    unit_property,
    wait_for,
)

CLIENT = "molecule-dicom-client"
PACS_PEER = "molecule-dicom-client-pacs"
testinfra_hosts = [f"docker://{CLIENT}"]

PACS = pacs_vars()
ENDPOINT = PACS["pacs_edge_dns_name"]
STORE_PORT = PACS["pacs_port_storage_tls"]
QUERY_PORT = PACS["pacs_port_query_tls"]
PACS_AET = PACS["pacs_aet"]
CLIENT_AET = PACS["pacs_client_aet"]
TUNNELS = {"ghostunnel-pacs-storage.service": STORE_PORT, "ghostunnel-pacs-query.service": QUERY_PORT}
TLS_DIR = "/etc/ghostunnel"
DATA = "/root/dicom"
SAMPLES = ("1-01.dcm", "1-02.dcm")
MOVED = "/var/lib/molecule-pacs/moved"
VPCE_NAME = "vpce-0a1b2c3d4e5f6a7b8.molecule.internal"


@pytest.fixture(scope="module")
def pacs():
    return testinfra.get_host(f"docker://{PACS_PEER}")


@pytest.fixture(scope="module")
def samples(host):
    """The sample CT files on the client, in DATA/, with a README that is not DICOM."""
    host.check_output(f"mkdir -p {DATA}")
    source = PROJECT / "data" / "dicom"
    for name in (*SAMPLES, "README.md"):
        subprocess.run(["docker", "cp", str(source / name), f"{CLIENT}:{DATA}/{name}"], check=True)
    return DATA


def uid(host, path: str, tag: str) -> str:
    return host.check_output(f"dcmdump -q -s +P {tag} {path}").split("[")[1].split("]")[0]


def test_packages(host):
    for name in ("dcmtk", "openssl"):
        assert host.package(name).is_installed, name


def test_ghostunnel_binary_and_user(host):
    binary = host.file("/usr/local/bin/ghostunnel")
    assert binary.user == "root" and binary.mode == 0o755
    version = host.run("/usr/local/bin/ghostunnel --version")
    assert GHOSTUNNEL_VERSION in (version.stdout + version.stderr).split()
    user = host.user("ghostunnel")
    assert user.exists and user.uid < 1000 and user.shell == "/usr/sbin/nologin"


def test_tls_files(host):
    folder = host.file(TLS_DIR)
    assert (folder.user, folder.group, folder.mode) == ("root", "ghostunnel", 0o750)
    key = host.file(f"{TLS_DIR}/key.pem")
    assert (key.user, key.mode) == ("ghostunnel", 0o600)
    assert "CN = dicom-client" in host.check_output(f"openssl x509 -noout -subject -in {TLS_DIR}/cert.pem")


@pytest.mark.parametrize("unit", sorted(TUNNELS))
def test_tunnels_enabled_running_on_loopback(host, unit):
    service = host.service(unit)
    assert service.is_enabled and service.is_running
    assert listeners(host, TUNNELS[unit]) == {"127.0.0.1"}
    exec_start = unit_property(host, unit, "ExecStart")
    assert f"--target={ENDPOINT}:{TUNNELS[unit]}" in exec_start
    assert "--verify-cn=pacs-edge" in exec_start
    assert "--override-server-name" not in exec_start
    assert "kill -HUP" in unit_property(host, unit, "ExecReload")
    status = proc_status(host, main_pid(host, unit))
    assert (status["NoNewPrivs"], status["Seccomp"], int(status["CapEff"], 16)) == ("1", "2", 0)


def test_command_installed_with_the_inventory_values(host):
    command = host.file("/usr/local/bin/pacs-dicom")
    assert (command.user, command.mode) == ("root", 0o755)
    text = command.content_string
    assert f"readonly CALLING_AET={CLIENT_AET}" in text
    assert f"readonly CALLED_AET={PACS_AET}" in text
    assert f"readonly STORE_PORT={STORE_PORT}" in text
    assert f"readonly QUERY_PORT={QUERY_PORT}" in text
    assert host.run("bash -n /usr/local/bin/pacs-dicom").rc == 0
    assert "pacs-dicom [-v] echo" in host.check_output("pacs-dicom help")
    assert host.run("pacs-dicom frobnicate").rc == 2
    assert host.run("pacs-dicom move not-a-uid").rc == 2


def test_echo(host):
    echo = host.run("pacs-dicom echo")
    assert echo.rc == 0, echo.stderr
    assert echo.stdout.count(": OK") == 2


def test_store_files_and_folder(host, pacs, samples):
    store = host.run(f"pacs-dicom store {samples}/1-01.dcm")
    assert store.rc == 0, store.stderr
    assert "C-STORE of 1 file(s)" in store.stdout
    folder = host.run(f"pacs-dicom store {samples}")
    assert folder.rc == 0, folder.stderr
    assert "C-STORE of 2 file(s)" in folder.stdout
    assert "skipped, not a DICOM file" in folder.stderr and "README.md" in folder.stderr
    for name in SAMPLES:
        sop_uid = uid(host, f"{samples}/{name}", "0008,0018")
        # dcmqrscp names its files itself: look for the SOP Instance UID inside them.
        stored = pacs.run(f"grep -rlF --exclude=index.dat {sop_uid} /var/lib/molecule-pacs/db")
        assert stored.rc == 0 and stored.stdout.strip(), f"{name} reached the PACS"


def test_store_failures_exit_non_zero(host, samples):
    assert host.run("pacs-dicom store /nonexistent.dcm").rc == 2
    not_dicom = host.run(f"pacs-dicom store {samples}/README.md")
    assert not_dicom.rc == 1
    assert "failed" in not_dicom.stderr


def test_find(host, samples):
    study_uid = uid(host, f"{samples}/1-01.dcm", "0020,000d")
    patient_id = uid(host, f"{samples}/1-01.dcm", "0010,0020")
    every = host.run("pacs-dicom find")
    assert every.rc == 0, every.stderr
    lines = every.stdout.splitlines()
    assert lines[0].startswith("STUDY_INSTANCE_UID\tPATIENT_ID")
    assert any(line.split("\t")[:2] == [study_uid, patient_id] for line in lines[1:]), every.stdout
    by_study = host.run(f"pacs-dicom find --study-uid {study_uid}")
    assert by_study.rc == 0 and study_uid in by_study.stdout and "1 study found." in by_study.stderr
    by_patient = host.run(f"pacs-dicom find --patient-id {patient_id}")
    assert by_patient.rc == 0 and study_uid in by_patient.stdout
    nobody = host.run("pacs-dicom find --patient-id NOBODY-HERE")
    assert nobody.rc == 0 and "0 studies found." in nobody.stderr
    assert host.run("pacs-dicom find --study-uid 1.2.x").rc == 2


def test_move_to_the_storage_node(host, pacs, samples):
    study_uid = uid(host, f"{samples}/1-01.dcm", "0020,000d")
    pacs.check_output(f"rm -f {MOVED}/*")
    move = host.run(f"pacs-dicom move {study_uid}")
    assert move.rc == 0, move.stderr
    assert f"to {PACS['pacs_storage_node_aet']}: OK" in move.stdout
    for name in SAMPLES:
        sop_uid = uid(host, f"{samples}/{name}", "0008,0018")
        moved = f"{MOVED}/CT.{sop_uid}"
        assert wait_for(lambda moved=moved: pacs.file(moved).exists, timeout=10), moved
        assert pixel_sha256(pacs, moved) == pixel_sha256(host, f"{samples}/{name}")


def test_move_failure_exits_non_zero(host, samples):
    study_uid = uid(host, f"{samples}/1-01.dcm", "0020,000d")
    unknown = host.run(f"pacs-dicom move {study_uid} NOWHERE")
    assert unknown.rc == 1
    assert "MoveDestinationUnknown" in unknown.stderr


def test_impostor_pacs_refused(host, pacs):
    """A server with a certificate of the same CA and the endpoint's name, but not the PACS's CN."""
    pacs.check_output("systemctl stop ghostunnel-pacs-storage.service ghostunnel-pacs-query.service")
    try:
        for port in (STORE_PORT, QUERY_PORT):
            pacs.check_output(
                f"systemd-run --unit=molecule-impostor-{port} /usr/local/bin/ghostunnel server"
                f" --listen=0.0.0.0:{port} --target=127.0.0.1:{PACS['pacs_port_storage']}"
                f" --cert={PEER_DIR}/tls/impostor.pem --key={PEER_DIR}/tls/impostor.key"
                f" --cacert={PEER_DIR}/tls/ca.pem --allow-cn=dicom-client"
            )
        assert wait_for(lambda: listeners(pacs, STORE_PORT) and listeners(pacs, QUERY_PORT), timeout=10)
        echo = host.run("pacs-dicom echo")
        assert echo.rc == 1
        assert echo.stderr.count("FAILED") == 2
    finally:
        pacs.run(f"systemctl stop molecule-impostor-{STORE_PORT} molecule-impostor-{QUERY_PORT}")
        pacs.check_output("systemctl start ghostunnel-pacs-storage.service ghostunnel-pacs-query.service")
    assert wait_for(lambda: host.run("pacs-dicom echo").rc == 0, timeout=15)


def test_endpoint_name_not_in_certificate_needs_override(host, pacs):
    """A VPC endpoint's own DNS name is not in the PACS certificate: with
    dicom_client_override_server_name the tunnels check the certificate's name instead."""
    not_in_cert = host.run(
        f"(sleep 1; echo) | timeout 10 openssl s_client -verify_return_error -brief -connect {VPCE_NAME}:{STORE_PORT}"
        f" -verify_hostname {VPCE_NAME} -CAfile {TLS_DIR}/ca.pem -cert {TLS_DIR}/cert.pem -key {TLS_DIR}/key.pem"
    )
    assert not_in_cert.rc != 0, "the certificate does not name the VPC endpoint"

    override = f'{{"dicom_client_pacs_endpoint": "{VPCE_NAME}", "dicom_client_override_server_name": "{ENDPOINT}"}}'
    pid = main_pid(host, "ghostunnel-pacs-storage.service")
    run = run_playbook("converge.yml", "--extra-vars", override)
    assert run.returncode == 0, run.stdout[-4000:]
    exec_start = unit_property(host, "ghostunnel-pacs-storage.service", "ExecStart")
    assert f"--target={VPCE_NAME}:{STORE_PORT}" in exec_start
    assert f"--override-server-name={ENDPOINT}" in exec_start
    assert main_pid(host, "ghostunnel-pacs-storage.service") != pid, "restarted for its new flags"
    assert VPCE_NAME in host.check_output("grep PACS_ENDPOINT= /usr/local/bin/pacs-dicom")
    assert wait_for(lambda: host.run("pacs-dicom echo").rc == 0, timeout=15)

    back = run_playbook("converge.yml")
    assert back.returncode == 0, back.stdout[-4000:]
    assert "--override-server-name" not in unit_property(host, "ghostunnel-pacs-storage.service", "ExecStart")
    again = run_playbook("converge.yml")
    assert again.returncode == 0 and recap_changed(again.stdout, CLIENT) == 0
    assert wait_for(lambda: host.run("pacs-dicom echo").rc == 0, timeout=15)
