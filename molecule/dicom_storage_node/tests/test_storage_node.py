"""Role dicom_storage_node, checked on its host and from a peer that plays the PACS task.

The peer (molecule-dicom-storage-peer) has the pacs-edge identity in a ghostunnel client on
127.0.0.1:<pacs_port_move_forward> -> storage.pacs.internal:<TLS port>, as the PACS task has,
and under /root/molecule-peer the test CA, an "intruder" identity of the same CA and the sample
CT files. The last tests change the host on purpose (a certificate rotation, then a flag change
and back) to show that the handlers reload or restart as they should.
"""

from __future__ import annotations

import pytest
import testinfra
from dicom_testlib import (
    GHOSTUNNEL_VERSION,
    PEER_DIR,
    file_serial,
    listeners,
    main_pid,
    pacs_vars,
    pixel_sha256,
    proc_status,
    run_playbook,
    s_client,
    served_serial,
    unit_property,
    wait_for,
)

NODE = "molecule-dicom-storage-node"
PEER = "molecule-dicom-storage-peer"
testinfra_hosts = [f"docker://{NODE}"]

PACS = pacs_vars()
AET = PACS["pacs_storage_node_aet"]
TLS_PORT = PACS["pacs_storage_node_tls_port"]
SCP_PORT = PACS["pacs_storage_node_scp_port"]
NODE_NAME = PACS["pacs_storage_node_dns_name"]
FORWARD_PORT = PACS["pacs_port_move_forward"]
OUTPUT_DIR = "/var/lib/dicom-storage"
TUNNEL = "ghostunnel-storage-node.service"
SOCKET = "dicom-storescp.socket"
TLS_DIR = "/etc/ghostunnel"
DCMTK_ENV = "TCP_NODELAY=1"
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - what the TLS port must listen on
CONFIGURED_HARDENING = {"ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes", "NoNewPrivileges": "yes"}
ALLOW_STANDBY = '{"dicom_storage_node_allowed_cns": ["pacs-edge", "pacs-edge-standby"]}'


@pytest.fixture(scope="module")
def peer():
    return testinfra.get_host(f"docker://{PEER}")


@pytest.fixture(scope="module")
def node_ip(host):
    return host.check_output("hostname -i").split()[0]


def test_packages(host):
    for name in ("dcmtk", "openssl"):
        assert host.package(name).is_installed, name


def test_ghostunnel_binary(host):
    binary = host.file("/usr/local/bin/ghostunnel")
    assert binary.user == "root" and binary.mode == 0o755
    version = host.run("/usr/local/bin/ghostunnel --version")
    assert version.rc == 0
    assert GHOSTUNNEL_VERSION in (version.stdout + version.stderr).split()


@pytest.mark.parametrize("name", ["ghostunnel", "dicom-storage"])
def test_service_users(host, name):
    user = host.user(name)
    assert user.exists
    assert user.uid < 1000, "a system user"
    assert user.shell == "/usr/sbin/nologin"


def test_tls_files(host):
    folder = host.file(TLS_DIR)
    assert (folder.user, folder.group, folder.mode) == ("root", "ghostunnel", 0o750)
    key = host.file(f"{TLS_DIR}/key.pem")
    assert (key.user, key.mode) == ("ghostunnel", 0o600)
    for name in ("cert.pem", "ca.pem"):
        pem = host.file(f"{TLS_DIR}/{name}")
        assert (pem.user, pem.mode) == ("root", 0o644)
    subject = host.check_output(f"openssl x509 -noout -subject -in {TLS_DIR}/cert.pem")
    assert "CN = storage-node" in subject


def test_services_enabled_and_running(host):
    tunnel = host.service(TUNNEL)
    assert tunnel.is_enabled and tunnel.is_running
    socket = host.service(SOCKET)
    assert socket.is_enabled
    assert unit_property(host, SOCKET, "ActiveState") == "active"
    assert unit_property(host, SOCKET, "SubState") == "listening"


def test_tls_port_on_all_interfaces_scp_on_loopback_only(host):
    assert listeners(host, TLS_PORT) == {EVERY_INTERFACE}
    assert listeners(host, SCP_PORT) == {"127.0.0.1"}


def test_unit_flags(host):
    exec_start = unit_property(host, TUNNEL, "ExecStart")
    assert f"--listen={EVERY_INTERFACE}:{TLS_PORT}" in exec_start
    assert f"--target=127.0.0.1:{SCP_PORT}" in exec_start
    assert "--allow-cn=pacs-edge" in exec_start
    assert "--allow-all" not in exec_start
    assert "kill -HUP" in unit_property(host, TUNNEL, "ExecReload")
    scp = host.file("/etc/systemd/system/dicom-storescp@.service").content_string
    assert "Environment=TCP_NODELAY=1" in scp
    assert f'--aetitle "{AET}"' in scp
    assert "User=dicom-storage" in scp


def test_tls_check_refuses_what_ghostunnel_should_not_load(host):
    """pacs-tls-check runs before every start and reload, in the units and in the handlers."""
    check = "/usr/local/sbin/pacs-tls-check"
    files = f"{TLS_DIR}/cert.pem {TLS_DIR}/key.pem {TLS_DIR}/ca.pem"
    assert host.run(f"{check} --purpose=sslserver {files}").rc == 0
    # The storage node's certificate is serverAuth only.
    assert host.run(f"{check} --purpose=sslclient {files}").rc == 1
    scratch = host.check_output("mktemp -d")
    try:
        host.check_output(f"openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out {scratch}/other.key")
        other_key = host.run(f"{check} {TLS_DIR}/cert.pem {scratch}/other.key {TLS_DIR}/ca.pem")
        assert other_key.rc == 1 and "does not belong" in other_key.stderr
        host.check_output(
            f"openssl req -x509 -key {scratch}/other.key -subj /CN=other-ca -days 1 -out {scratch}/other-ca.pem"
        )
        other_ca = host.run(f"{check} --purpose=sslserver {TLS_DIR}/cert.pem {TLS_DIR}/key.pem {scratch}/other-ca.pem")
        assert other_ca.rc == 1 and "does not chain" in other_ca.stderr
    finally:
        host.run(f"rm -rf {scratch}")


def test_tunnel_hardening_in_effect(host):
    """What holds in the unprivileged container: seccomp, no capabilities, no_new_privs, own user."""
    status = proc_status(host, main_pid(host, TUNNEL))
    assert status["NoNewPrivs"] == "1"
    assert status["Seccomp"] == "2"
    assert int(status["CapEff"], 16) == 0
    assert int(status["CapBnd"], 16) == 0
    assert status["Uid"].split()[0] == str(host.user("ghostunnel").uid)
    # Configured too (applied by systemd where it may create mount namespaces, e.g. on EC2).
    for prop, value in CONFIGURED_HARDENING.items():
        assert unit_property(host, TUNNEL, prop) == value, prop


def test_scp_not_reachable_from_another_host(host, peer, node_ip):
    for address in (NODE_NAME, node_ip):
        probe = peer.run(f"timeout 5 bash -c 'exec 3<>/dev/tcp/{address}/{SCP_PORT}'")
        assert probe.rc != 0
        assert "Connection refused" in probe.stderr, probe.stderr
    echo = peer.run(f"{DCMTK_ENV} echoscu -aet PROBE -aec {AET} {node_ip} {SCP_PORT}")
    assert echo.rc != 0


def test_handshake_with_pacs_edge_identity(host, peer):
    result = s_client(
        peer, f"{NODE_NAME}:{TLS_PORT}", NODE_NAME, f"{TLS_DIR}/ca.pem", f"{TLS_DIR}/cert.pem", f"{TLS_DIR}/key.pem"
    )
    assert result.rc == 0, result.stderr
    assert "Verification: OK" in result.stderr
    assert "alert" not in result.stderr


def test_handshake_with_another_cn_refused(host, peer):
    result = s_client(
        peer,
        f"{NODE_NAME}:{TLS_PORT}",
        NODE_NAME,
        f"{PEER_DIR}/tls/ca.pem",
        f"{PEER_DIR}/tls/intruder.pem",
        f"{PEER_DIR}/tls/intruder.key",
    )
    assert result.rc != 0
    assert "alert bad certificate" in result.stderr, result.stderr


def test_handshake_without_client_certificate_refused(host, peer):
    result = s_client(peer, f"{NODE_NAME}:{TLS_PORT}", NODE_NAME, f"{PEER_DIR}/tls/ca.pem")
    assert result.rc != 0
    assert "alert certificate required" in result.stderr, result.stderr


def test_plain_dicom_to_the_tls_port_refused(host, peer):
    echo = peer.run(f"{DCMTK_ENV} timeout 20 echoscu -to 5 -ta 5 -aet PROBE -aec {AET} {NODE_NAME} {TLS_PORT}")
    assert echo.rc != 0


def test_c_echo_through_the_tunnel(host, peer):
    echo = peer.run(f"{DCMTK_ENV} echoscu -v -aet DICOOGLE-STORAGE -aec {AET} 127.0.0.1 {FORWARD_PORT}")
    assert echo.rc == 0, echo.stderr
    assert "Received Echo Response (Success)" in echo.stderr


def test_c_store_through_the_tunnel(host, peer):
    sample = f"{PEER_DIR}/dicom/1-01.dcm"
    sop_uid = peer.check_output(f"dcmdump -q -s +P 0008,0018 {sample}").split("[")[1].split("]")[0]
    store = peer.run(f"{DCMTK_ENV} storescu -v -aet DICOOGLE-STORAGE -aec {AET} 127.0.0.1 {FORWARD_PORT} {sample}")
    assert store.rc == 0, store.stderr
    assert "Received Store Response (Success)" in store.stderr
    received = host.file(f"{OUTPUT_DIR}/CT.{sop_uid}")
    assert received.exists
    assert (received.user, received.group) == ("dicom-storage", "dicom-storage")
    # storescp writes its own file meta header; the pixel data must be identical.
    assert pixel_sha256(host, received.path) == pixel_sha256(peer, sample)
    assert host.file(OUTPUT_DIR).mode == 0o750


def test_storescp_logs_to_the_journal(host):
    journal = host.check_output("journalctl --no-pager -o cat -u 'dicom-storescp@*' -t storescp")
    assert "Association Received" in journal
    assert "Received Store Request" in journal or "Storing" in journal or "Association Release" in journal


def test_certificate_rotation_reloads_the_tunnel(host, peer):
    """A new certificate in Secrets Manager: the role writes it and SIGHUPs ghostunnel (same PID)."""
    pid = main_pid(host, TUNNEL)
    restarts = unit_property(host, TUNNEL, "NRestarts")
    old_serial = file_serial(host, f"{TLS_DIR}/cert.pem")
    since = host.check_output("date +%s")

    run = run_playbook("rotate.yml")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "Reload the tunnels whose certificate" in run.stdout
    assert "Restart the tunnels whose unit" not in run.stdout
    new_serial = file_serial(host, f"{TLS_DIR}/cert.pem")
    assert new_serial != old_serial
    assert main_pid(host, TUNNEL) == pid, "reloaded, not restarted"
    assert unit_property(host, TUNNEL, "NRestarts") == restarts
    journal = host.check_output(f"journalctl --no-pager -o cat --since=@{since} -u {TUNNEL}")
    assert "received hangup" in journal

    def serving_new():
        return (
            served_serial(
                peer,
                f"{NODE_NAME}:{TLS_PORT}",
                f"{TLS_DIR}/cert.pem",
                f"{TLS_DIR}/key.pem",
                f"{TLS_DIR}/ca.pem",
                NODE_NAME,
            )
            == new_serial
        )

    assert wait_for(serving_new, timeout=10), "the TLS port serves the new certificate"
    echo = peer.run(f"{DCMTK_ENV} echoscu -aet DICOOGLE-STORAGE -aec {AET} 127.0.0.1 {FORWARD_PORT}")
    assert echo.rc == 0, echo.stderr


def test_flag_change_restarts_the_tunnel(host, peer):
    """A changed allow list rewrites the unit: restart (new PID); back to the inventory: restart again."""
    pid = main_pid(host, TUNNEL)
    changed = run_playbook("converge.yml", "--extra-vars", ALLOW_STANDBY)
    assert changed.returncode == 0, changed.stdout[-4000:]
    assert "Restart the tunnels whose unit or binary changed" in changed.stdout
    new_pid = main_pid(host, TUNNEL)
    assert new_pid not in (0, pid), "restarted"
    assert "--allow-cn=pacs-edge-standby" in unit_property(host, TUNNEL, "ExecStart")

    back = run_playbook("converge.yml")
    assert back.returncode == 0, back.stdout[-4000:]
    assert main_pid(host, TUNNEL) not in (0, new_pid)
    assert "pacs-edge-standby" not in unit_property(host, TUNNEL, "ExecStart")
    assert "Reload the tunnels whose certificate" not in back.stdout, "a flag change restarts only"
    echo = peer.run(f"{DCMTK_ENV} echoscu -aet DICOOGLE-STORAGE -aec {AET} 127.0.0.1 {FORWARD_PORT}")
    assert echo.rc == 0, echo.stderr
