"""DICOM peers as data (playbooks/peers.yml) against the lab, under DICOM load.

A loop of C-ECHO and C-STORE runs on the first client (pacs-lab-client) through the TLS edge, and one
association is held open there (echoscu repeating C-ECHO through the query tunnel), while peers.yml
first adds a second on-prem DICOM host from the peer list (a modality stand-in: it stores, queries and
is a C-MOVE destination), then removes it. After the removal its next association is refused twice over,
each on its own: its certificate (with an AE title the PACS allows) at the edge, and its AE title (from
the first client, whose certificate the edge allows) at the engine. The first client's loop sees no
failed association across both runs, and an association held open across each run survives it. A rerun with
an unchanged list changes nothing; the onboarding bundle holds only its peer; collect.yml reports the
peers and, with the list and the edge apart, the drift.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.test_day_two import CLIENT_HOST, CT_FILE, DRIFT, LOAD_LOOP, NO_DRIFT, run_collect
from tests.support.ansible_run import PlaybookRun, run_playbook
from tests.support.lab_aws import lab_client
from tests.support.lab_docker import docker

ROOT = Path(__file__).resolve().parents[2]
GLOBALS = yaml.safe_load((ROOT / "group_vars" / "all" / "pacs.yml").read_text())
MODALITY_HOST = "pacs-lab-modality"
MODALITY_AET = "MODALITY-1"
MODALITY = {
    "name": "modality-1",
    "ae_title": MODALITY_AET,
    "roles": ["store-scu", "query-scu", "move-destination"],
    "host": "modality-1.pacs.internal",
    "port": 7777,
    "forward_port": 17778,
    "description": "modality stand-in",
    "inventory_host": MODALITY_HOST,
}
SECOND_CT = sorted((ROOT / "data" / "dicom").glob("*.dcm"))[1]
STORAGE_DIR = "/var/lib/dicom-storage"
PACS_AET = GLOBALS["pacs_aet"]
STORE_PORT, QUERY_PORT = GLOBALS["pacs_port_storage_tls"], GLOBALS["pacs_port_query_tls"]
# One association held open on the first client across each peers.yml run: C-ECHO after C-ECHO
# through its query tunnel.
HELD = (
    "echo $$ > /root/held.pid; "
    f"exec echoscu -v --repeat 100000000 -aet {GLOBALS['pacs_client_aet']} -aec {PACS_AET} 127.0.0.1 {QUERY_PORT} "
    ">/root/held.log 2>&1"
)


def default_peers() -> list[dict]:
    """The shipped list, read from group_vars/all/peers.yml (its templates are resolved by Ansible)."""
    return yaml.safe_load((ROOT / "group_vars" / "all" / "peers.yml").read_text())["pacs_peers"]


@pytest.fixture(scope="module")
def peer_files(site_first_run, tmp_path_factory) -> dict[str, Path]:
    assert site_first_run.returncode == 0, "the lab did not come up:\n" + site_first_run.report()
    folder = tmp_path_factory.mktemp("peers")
    files = {"with": folder / "with-modality.yml", "without": folder / "default.yml"}
    files["with"].write_text(yaml.safe_dump({"pacs_peers": [*default_peers(), MODALITY]}))
    files["without"].write_text(yaml.safe_dump({"pacs_peers": default_peers()}))
    return files


def peers(list_file: Path, *extra: str) -> PlaybookRun:
    return run_playbook("playbooks/peers.yml", "-e", f"@{list_file}", *extra)


def in_host(host: str, script: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return docker("exec", host, "bash", "-c", script, timeout=timeout)


@pytest.fixture(scope="module")
def loaded(peer_files):
    """The first client's load loop, running for the module's tests."""
    assert docker("cp", str(CT_FILE), f"{CLIENT_HOST}:/root/load.dcm").returncode == 0
    in_host(CLIENT_HOST, "rm -f /root/load-failures.log /root/held.log /root/held.pid")
    load = subprocess.Popen(
        ["docker", "exec", CLIENT_HOST, "bash", "-c", LOAD_LOOP], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    state = {"runs": [], "load": load, "held": []}
    time.sleep(5)
    try:
        yield state
    finally:
        in_host(CLIENT_HOST, "touch /root/stop-load; [ -s /root/held.pid ] && kill $(cat /root/held.pid)")
        load.wait(timeout=180)
        # Leave the lab as the other tests expect it: the shipped list, and no modality host.
        if run_playbook("playbooks/peers.yml", "-e", f"@{peer_files['without']}").returncode != 0:
            print("WARNING: putting the shipped peer list back failed")
        docker("rm", "-f", MODALITY_HOST)


def timed(state: dict, run) -> PlaybookRun:
    """A peers.yml run with an association held open across it: notes the run's time, and whether
    the association was still open after it and how many C-ECHOs it answered."""
    in_host(CLIENT_HOST, "rm -f /root/held.log /root/held.pid")
    held = subprocess.Popen(
        ["docker", "exec", CLIENT_HOST, "bash", "-c", HELD], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    time.sleep(2)
    started = time.time()
    result = run()
    state["runs"].append((started, time.time()))
    alive = held_alive()
    log = in_host(CLIENT_HOST, "cat /root/held.log").stdout
    in_host(CLIENT_HOST, "kill $(cat /root/held.pid)")
    held.wait(timeout=60)
    answered = log.count("Received Echo Response")
    state["held"].append((alive, answered, log[-600:]))
    print(f"association held open across the run: open after it {alive}, {answered} C-ECHOs answered on it")
    return result


# How the real Dicoogle (the lab build) sometimes ends a long association itself: an A-RELEASE-RQ of
# its own, sent right after it released another association of the same caller (seen in its log with
# no peer change under way, only the load loop's associations coming and going). A release the engine
# asks for is not a connection the edge dropped: that would be an abort or a closed connection.
ENGINE_RELEASE = "DUL Peer Requested Release"


def assert_held_carried_on(held, run_name):
    alive, answered, tail = held
    assert answered > 0, f"the association held open across {run_name} answered nothing:\n{tail}"
    if not alive:
        assert ENGINE_RELEASE in tail, f"the association held open across {run_name} was dropped:\n{tail}"
        print(f"NOTE: the engine released the association held open across {run_name} itself ({ENGINE_RELEASE})")


def held_alive() -> bool:
    return in_host(CLIENT_HOST, "kill -0 $(cat /root/held.pid)").returncode == 0


def test_adding_a_peer_makes_its_host_and_lets_it_store_find_and_receive(peer_files, loaded):
    run = timed(loaded, lambda: peers(peer_files["with"]))
    assert run.returncode == 0, run.report()
    assert "edge reload:" in run.output, "the edge was not reloaded in place"
    print([line for line in run.output.splitlines() if "edge reload:" in line])
    assert_held_carried_on(loaded["held"][-1], "the add")

    rerun = peers(peer_files["with"])
    assert rerun.returncode == 0, rerun.report()
    assert rerun.changed == 0, "a rerun with the same list changed something:\n" + rerun.report()

    assert docker("cp", str(SECOND_CT), f"{MODALITY_HOST}:/root/second.dcm").returncode == 0
    echo = in_host(MODALITY_HOST, "pacs-dicom echo")
    assert echo.returncode == 0, echo.stdout + echo.stderr
    store = in_host(MODALITY_HOST, "pacs-dicom store /root/second.dcm")
    assert store.returncode == 0, store.stdout + store.stderr
    study = in_host(MODALITY_HOST, "dcmdump +P StudyInstanceUID /root/second.dcm").stdout.split("[")[1].split("]")[0]
    found = in_host(
        MODALITY_HOST,
        f"for i in $(seq 20); do pacs-dicom find --study-uid {study} | grep -q {study} && exit 0; sleep 1; done; "
        "exit 1",
    )
    assert found.returncode == 0, found.stdout + found.stderr
    moved = in_host(MODALITY_HOST, f"rm -rf {STORAGE_DIR}/*; pacs-dicom move {study} {MODALITY_AET}")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    arrived = in_host(MODALITY_HOST, f"find {STORAGE_DIR} -type f | wc -l")
    assert int(arrived.stdout.strip() or 0) >= 1, "the C-MOVE to the modality delivered nothing"
    from_client = in_host(CLIENT_HOST, f"pacs-dicom move {study} {MODALITY_AET}")
    assert from_client.returncode == 0, from_client.stdout + from_client.stderr
    # The engine lets the new AE title store from an allowed certificate too (the control of the refusal below).
    control = in_host(
        CLIENT_HOST, f"storescu -v -aet {MODALITY_AET} -aec {PACS_AET} 127.0.0.1 {STORE_PORT} /root/load.dcm 2>&1"
    )
    assert "Received Store Response (Success" in control.stdout, control.stdout


def test_the_onboarding_bundle_holds_its_peer_only(peer_files, loaded, tmp_path):
    bundle = tmp_path / "bundle"
    run = peers(peer_files["with"], "-e", "peer=modality-1", "-e", f"bundle={bundle}")
    assert run.returncode == 0, run.report()
    assert run.changed <= 6, run.report()  # the bundle's files, nothing of the deployment
    files = {p.name: p for p in bundle.iterdir()}
    assert set(files) == {"ca.pem", "cert.pem", "key.pem", "peer.json", "README.txt"}
    assert oct(bundle.stat().st_mode & 0o777) == "0o700"
    assert oct(files["key.pem"].stat().st_mode & 0o777) == "0o600"
    info = json.loads(files["peer.json"].read_text())
    assert info["calling_ae_title"] == MODALITY_AET and info["called_ae_title"] == PACS_AET
    assert info["ports"] == {"storage": STORE_PORT, "query": QUERY_PORT}
    everything = "".join(p.read_text() for p in files.values())
    for other in (GLOBALS["pacs_client_aet"], GLOBALS["pacs_storage_node_aet"], "dicom-client", "storage-node"):
        assert other not in everything, f"the bundle names {other}"
    client_key = in_host(CLIENT_HOST, "cat /etc/ghostunnel/*.key 2>/dev/null").stdout.strip()
    assert not client_key or client_key not in everything
    # The bundle's own test line, from the modality host, straight to the edge (dcmtk's TLS).
    assert docker("cp", str(bundle) + "/.", f"{MODALITY_HOST}:/root/bundle").returncode == 0
    line = next(x.strip() for x in files["README.txt"].read_text().splitlines() if x.strip().startswith("echoscu"))
    direct = in_host(MODALITY_HOST, f"cd /root/bundle && {line}")
    assert direct.returncode == 0, f"{line}\n{direct.stdout}{direct.stderr}"


def test_collect_lists_the_peers_and_sees_the_edge_apart_from_the_list(peer_files, loaded, tmp_path):
    reports = tmp_path / "reports"
    args = ["-e", json.dumps({"collect_reports_dir": str(reports)})]
    listed = run_collect("-e", f"@{peer_files['with']}", *args)
    report = json.loads((reports / "latest-pacs-lab.json").read_text())
    assert listed.returncode == NO_DRIFT, listed.report() + json.dumps(report.get("drift"))
    by_name = {p["name"]: p for p in report["peers"]}
    assert set(by_name) == {"dicom-client", "storage-node", "modality-1"}
    assert by_name["modality-1"]["days_left"] > 80 and by_name["modality-1"]["not_after"]
    apart = run_collect(*args)
    report = json.loads((reports / "latest-pacs-lab.json").read_text())
    assert apart.returncode == DRIFT, apart.report()
    assert any("modality-1" in d["where"] + d["what"] for d in report["drift"]), report["drift"]


def test_removing_the_peer_refuses_its_certificate_and_its_ae_title(peer_files, loaded):
    run = timed(loaded, lambda: peers(peer_files["without"]))
    assert run.returncode == 0, run.report()
    assert_held_carried_on(loaded["held"][-1], "the removal")

    # Its certificate, with an AE title the PACS allows: refused at the edge.
    by_cert = in_host(
        MODALITY_HOST, f"echoscu -v -aet {GLOBALS['pacs_client_aet']} -aec {PACS_AET} 127.0.0.1 {QUERY_PORT} 2>&1"
    )
    assert by_cert.returncode != 0, by_cert.stdout
    edge_log = docker("logs", "--since", "2m", "pacs-lab-ghostunnel-query").stdout
    edge_log += docker("logs", "--since", "2m", "pacs-lab-ghostunnel-query").stderr
    assert "principal not allowed" in edge_log or "unauthorized" in edge_log, edge_log[-2000:]
    # Its AE title, from a certificate the edge allows: refused by the engine.
    by_aet = in_host(
        CLIENT_HOST, f"storescu -v -aet {MODALITY_AET} -aec {PACS_AET} 127.0.0.1 {STORE_PORT} /root/load.dcm 2>&1"
    )
    assert "Received Store Response (Success" not in by_aet.stdout, by_aet.stdout
    # Nor is it a destination any more, and its certificate's secret and tunnel are gone.
    study = in_host(CLIENT_HOST, "dcmdump +P StudyInstanceUID /root/load.dcm").stdout.split("[")[1].split("]")[0]
    assert in_host(CLIENT_HOST, f"pacs-dicom move {study} {MODALITY_AET}").returncode != 0
    assert docker("inspect", "pacs-lab-ghostunnel-move-modality-1").returncode != 0
    with pytest.raises(lab_client("secretsmanager").exceptions.ResourceNotFoundException):
        lab_client("secretsmanager").describe_secret(SecretId="pacs-lab/pki/modality-1")

    rerun = peers(peer_files["without"])
    assert rerun.returncode == 0, rerun.report()
    assert rerun.changed == 0, "a rerun with the same list changed something:\n" + rerun.report()


def test_the_first_client_saw_no_failed_association(loaded):
    in_host(CLIENT_HOST, "touch /root/stop-load")
    loaded["load"].wait(timeout=180)
    lines = [line.split() for line in in_host(CLIENT_HOST, "cat /root/load.log").stdout.splitlines()]
    failures = in_host(CLIENT_HOST, "cat /root/load-failures.log 2>/dev/null").stdout
    associations = sum(int(n) for _s, _e, _op, n, _rc in lines)
    failed = [line for line in lines if line[4] != "0"]
    print(f"associations: {associations} in all, {len(failed)} failed")
    assert failed == [], f"{len(failed)} of {associations} associations failed:\n{failures[-3000:]}"
    for started, ended in loaded["runs"]:
        during = sum(int(n) for s, e, _op, n, _rc in lines if float(e) > started and float(s) < ended)
        print(f"peers.yml run of {ended - started:.0f} s: {during} associations during it")
        assert during >= 10, f"only {during} associations overlapped a peers.yml run"
    for held in loaded["held"]:
        assert held[1] > 0, held[2]
