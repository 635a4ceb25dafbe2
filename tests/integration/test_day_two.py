"""Day two against the lab: config collection with drift (playbooks/collect.yml), reconfiguration
(playbooks/reconfigure.yml), and a forced rotation of every certificate under DICOM load.

- A converged lab: collect (through bin/pacs_collect.py, as the scheduled drift job runs it) exits 0,
  its report lists every TLS port serving the certificate Secrets Manager holds, the containers, the
  hosts and the stamps, with no drift.
- Rotation under load: a loop of C-ECHO (through both tunnels) and C-STORE runs on the client host,
  through the TLS edge, while `reconfigure.yml -e rotate=true` issues new keys and certificates for every
  leaf and the tunnels re-read them (SIGHUP). No association may fail; afterwards every TLS port serves
  a new certificate, the one Secrets Manager now holds (by fingerprint).
- Drift: a move destination in the PACS's rendered settings is changed by hand. collect exits 20 (drift;
  a broken run would keep Ansible's own status) and names it; `reconfigure.yml --check --diff` shows the
  change back and makes none; reconfigure puts it back; collect exits 0 again.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.ansible_run import ROOT, PlaybookRun, run_playbook
from tests.support.lab_docker import docker, lab_pacs_engine

CLIENT_HOST = "pacs-lab-client"
SETTINGS_VOLUME = Path("/var/lib/docker/volumes/pacs-lab-confs/_data")
# Per engine: the rendered file that holds the move destination, and the move destination's port in it
# (a regular expression whose group 1 is the port), and how a diff line shows that port.
MOVE_DESTINATION = {
    "orthanc": ("orthanc/orthanc.json", r'"STORAGE-NODE": \{[^}]*"Port": (\d+)', r'"Port": {port},?$'),
    "dicoogle": ("confs/server.xml", r'<move-destination aetitle="STORAGE-NODE"[^>]* port="(\d+)"', r'port="{port}"'),
}
CT_FILE = sorted((Path(__file__).resolve().parents[2] / "data" / "dicom").glob("*.dcm"))[0]
STORAGE_NODE_AET = "STORAGE-NODE"
TLS_PORTS = {"admin web", "DIMSE edge, storage", "DIMSE edge, query/retrieve", "storage node"}

# Runs on the client host until /root/stop-load exists: one line per association, with its time.
LOAD_LOOP = r"""
rm -f /root/stop-load /root/load.log
while [ ! -e /root/stop-load ]; do
  for op in echo store; do
    started=$(date +%s.%N)
    if [ "$op" = echo ]; then args="echo"; n=2; else args="store /root/load.dcm"; n=1; fi
    pacs-dicom $args >/root/op.log 2>&1
    rc=$?
    echo "$started $(date +%s.%N) $op $n $rc" >>/root/load.log
    [ "$rc" = 0 ] || { echo "--- $op failed at $started:"; cat /root/op.log; } >>/root/load-failures.log
  done
done
"""


# bin/pacs_collect.py's exit codes (README.md, "Exit codes"); any other is a broken run.
NO_DRIFT, DRIFT = 0, 20


def run_collect(*extra: str) -> PlaybookRun:
    """playbooks/collect.yml through bin/pacs_collect.py, as the scheduled drift job runs it."""
    args = [sys.executable, "bin/pacs_collect.py", "-i", "inventories/lab", "playbooks/collect.yml", *extra]
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    beside = Path(sys.executable).with_name("ansible-playbook")
    if beside.exists():
        env.setdefault("PACS_ANSIBLE_PLAYBOOK", str(beside))
    started = time.monotonic()
    proc = subprocess.run(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800, check=False
    )
    return PlaybookRun(args, proc.returncode, proc.stdout, time.monotonic() - started)


def collect(reports: Path, *extra: str) -> tuple[PlaybookRun, dict]:
    run = run_collect("-e", json.dumps({"collect_reports_dir": str(reports)}), *extra)
    latest = reports / "latest-pacs-lab.json"
    return run, (json.loads(latest.read_text()) if latest.exists() else {})


@pytest.fixture(scope="module")
def reports(site_first_run, tmp_path_factory) -> Path:
    assert site_first_run.returncode == 0, "the lab did not come up:\n" + site_first_run.report()
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def baseline(reports) -> tuple[PlaybookRun, dict]:
    return collect(reports)


def test_collect_on_a_converged_lab_reports_no_drift(baseline, reports):
    run, report = baseline
    assert run.returncode == NO_DRIFT, run.report()
    assert report["drift"] == [], report["drift"]
    assert {port["name"] for port in report["tls_ports"]} == TLS_PORTS
    for port in report["tls_ports"]:
        assert port["serves_desired"] and port["verified"], port
        assert port["days_to_expiry"] > 300 and "TLSv1.3" in port["versions_accepted"], port
        assert len(port["fingerprint_sha256"]) == 64 and port["sans"], port
    assert {c["name"] for c in report["containers"]} >= {
        "pacs-lab-pacs",
        "pacs-lab-nginx",
        "pacs-lab-ghostunnel-storage",
    }
    edge = next(c for c in report["containers"] if c["name"] == "pacs-lab-ghostunnel-storage")
    # The identities each DIMSE port lets in are an OPA policy (DICOM peers, group_vars/all/peers.yml).
    assert "--allow-policy=/run/pacs-tls/edge.rego" in edge["command"], edge
    assert "--allow-query=data.pacs.edge.storage" in edge["command"] and "--allow-cn" not in edge["command"], edge
    assert edge["version"] == "v1.8.4"
    # The DICOM peers with their certificates, and what each edge's live policy file lets in.
    admitted = {peer["name"]: peer["admitted_on"] for peer in report["peers"]}
    assert admitted == {"dicom-client": ["storage", "query"], "storage-node": []}, report["peers"]
    assert all(peer["days_left"] > 300 and peer["applied"] for peer in report["peers"]), report["peers"]
    assert {e["source"] for e in report["edge_admission"]} == {"policy file /run/pacs-tls/edge.rego"}
    settings_file = MOVE_DESTINATION[lab_pacs_engine()][0]
    assert any(line.startswith(f"{settings_file}  ") for line in report["settings"]), report["settings"]
    assert set(report["hosts"]) == {"pacs-lab-client", "pacs-lab-storage"}
    assert all(host["ghostunnel"].startswith("rev v1.8.4") for host in report["hosts"].values())
    assert all(stamp["match"] for stamps in report["stamps"].values() for stamp in stamps)
    # Each image's Debian packages, as its label records them, and none behind the archive.
    # (pacs-lab-task only holds the namespace and pacs-lab-alb runs the static oauth2-proxy mounted from
    # the controller: the base image, no package of their own.)
    for container in report["containers"]:
        if container["name"] in ("pacs-lab-task", "pacs-lab-alb"):
            continue
        assert container["debian_packages"], container["name"]
        assert container["debian_behind"] == [], container
    nginx = next(c for c in report["containers"] if c["name"] == "pacs-lab-nginx")
    assert re.search(r"(^| )nginx-light=1\.22\.1-\S+", nginx["debian_packages"]), nginx
    markdown = (reports / "latest-pacs-lab.md").read_text()
    assert "## Drift\n\nNone" in markdown and "| storage node |" in markdown
    assert "COLLECT no drift" in run.output


def test_forced_rotation_under_load_fails_no_association(baseline, reports):
    before = {port["name"]: port["fingerprint_sha256"] for port in baseline[1]["tls_ports"]}
    assert docker("cp", str(CT_FILE), f"{CLIENT_HOST}:/root/load.dcm").returncode == 0
    docker("exec", CLIENT_HOST, "rm", "-f", "/root/load-failures.log")
    load = subprocess.Popen(
        ["docker", "exec", CLIENT_HOST, "bash", "-c", LOAD_LOOP], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        time.sleep(5)
        rotation_started = time.time()
        rotation = run_playbook("playbooks/reconfigure.yml", "-e", "rotate=true")
        rotation_ended = time.time()
        time.sleep(5)
    finally:
        docker("exec", CLIENT_HOST, "touch", "/root/stop-load")
        load.wait(timeout=180)
    assert rotation.returncode == 0, rotation.report()
    lines = [line.split() for line in docker("exec", CLIENT_HOST, "cat", "/root/load.log").stdout.splitlines()]
    failures = docker("exec", CLIENT_HOST, "cat", "/root/load-failures.log").stdout
    associations = sum(int(n) for _start, _end, _op, n, _rc in lines)
    failed = [line for line in lines if line[4] != "0"]
    during = sum(
        int(n) for start, end, _op, n, _rc in lines if float(end) > rotation_started and float(start) < rotation_ended
    )
    print(f"associations: {associations} in all, {during} during the rotation, {len(failed)} failed")
    assert failed == [], f"{len(failed)} of {associations} associations failed:\n{failures[-3000:]}"
    assert during >= 10, f"only {during} associations overlapped the rotation ({associations} in all)"

    run, report = collect(reports)
    assert run.returncode == NO_DRIFT, run.report()
    for port in report["tls_ports"]:
        assert port["serves_desired"], port
        assert port["fingerprint_sha256"] != before[port["name"]], f"{port['name']} still serves the old certificate"


def test_hand_edited_move_destination_is_reported_shown_and_put_back(reports):
    name, pattern, diff_line = MOVE_DESTINATION[lab_pacs_engine()]
    settings = SETTINGS_VOLUME / name
    original = settings.read_text()
    found = re.search(pattern, original)
    assert found, f"no move destination port in {name}"
    port = int(found.group(1))
    edited = original[: found.start(1)] + str(port + 1) + original[found.end(1) :]
    assert len(re.findall(pattern, original)) == 1, f"the move destination's port is not unique in {name}"
    settings.write_text(edited)
    try:
        drifted, report = collect(reports)
        assert drifted.returncode == DRIFT, drifted.report()
        reasons = " ".join(f"{item['where']}: {item['what']}" for item in report["drift"])
        assert "lab_pacs_task.json" in reasons and "pacs-lab-confs" in reasons, reasons
        assert "COLLECT DRIFT" in drifted.output

        check = run_playbook("playbooks/reconfigure.yml", "--check", "--diff")
        assert check.returncode == 0, check.report()
        assert re.search("^-.*" + diff_line.format(port=port + 1), check.output, re.MULTILINE), check.report()
        assert re.search("^\\+.*" + diff_line.format(port=port), check.output, re.MULTILINE), check.report()
        assert settings.read_text() == edited, "--check changed the settings"

        applied = run_playbook("playbooks/reconfigure.yml")
        assert applied.returncode == 0, applied.report()
        assert settings.read_text() == original
    finally:
        if settings.read_text() == edited:
            settings.write_text(original)
    clean, report = collect(reports)
    assert clean.returncode == NO_DRIFT and report["drift"] == [], clean.report()


def test_an_image_behind_the_debian_archive_is_drift_and_reconfigure_rolls_the_current_one_out(reports):
    # An nginx image as a build of an earlier day left it: the same image, labelled with an older
    # revision of nginx-light than the archive offers now. The lab's task runs it (pacs_task.yml with
    # the refs given), collect must call it behind the archive, and reconfigure must put the image
    # of today's resolution back.
    running = {
        name: json.loads(docker("inspect", f"pacs-lab-{name}").stdout)[0]
        for name in ("pacs", "nginx", "ghostunnel-storage")
    }
    # The task definition names images by digest (the running containers' references).
    digests = {
        "pacs": running["pacs"]["Config"]["Image"],
        "nginx": running["nginx"]["Config"]["Image"],
        "ghostunnel": running["ghostunnel-storage"]["Config"]["Image"],
    }
    labels = running["nginx"]["Config"]["Labels"]
    packages = dict(item.split("=", 1) for item in labels["io.pacs.debian.packages"].split())
    current = packages["nginx-light"]
    older = current.rsplit("-", 1)[0] + "-0"
    packages["nginx-light"] = older
    old_label = " ".join(f"{name}={version}" for name, version in sorted(packages.items()))
    # Pushed outside the deployment's namespace (its tags are part of the images' converge stamp),
    # for a digest the registry returns, as the definition needs.
    behind_repo = "127.0.0.1:5001/pacs-lab-test/nginx"
    behind_ref = f"{behind_repo}:behind-archive-test"
    build = subprocess.run(
        ["docker", "build", "--quiet", "--tag", behind_ref, "--label", f"io.pacs.debian.packages={old_label}", "-"],
        input=f"FROM {digests['nginx']}\n",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    pushed = docker("push", behind_ref)
    assert pushed.returncode == 0, pushed.stderr
    behind_digest = f"{behind_repo}@" + re.search(r"digest: (sha256:[0-9a-f]{64})", pushed.stdout).group(1)
    try:
        engine = running["pacs"]["Config"]["Labels"]["io.pacs.engine"]
        old_task = run_playbook(
            "playbooks/stages/pacs_task.yml",
            "-e",
            json.dumps(
                {
                    "container_images_digests": {**digests, "nginx": behind_digest},
                    "container_images_pacs_engine_effective": engine,
                }
            ),
        )
        assert old_task.returncode == 0, old_task.report()
        drifted, report = collect(reports)
        assert drifted.returncode == DRIFT, drifted.report()
        behind = [item for item in report["drift"] if "behind the Debian archive" in item["what"]]
        assert len(behind) == 1 and behind[0]["where"].startswith("container pacs-lab-nginx "), report["drift"]
        assert f"nginx-light {older} -> {current}" in behind[0]["what"], behind[0]
        nginx = next(c for c in report["containers"] if c["name"] == "pacs-lab-nginx")
        assert nginx["debian_behind"] == [f"nginx-light {older} -> {current}"], nginx
        assert "BEHIND the archive: nginx-light" in (reports / "latest-pacs-lab.md").read_text()

        applied = run_playbook("playbooks/reconfigure.yml")
        assert applied.returncode == 0, applied.report()
        assert json.loads(docker("inspect", "pacs-lab-nginx").stdout)[0]["Config"]["Image"] == digests["nginx"]
    finally:
        if json.loads(docker("inspect", "pacs-lab-nginx").stdout)[0]["Config"]["Image"] == behind_digest:
            run_playbook("playbooks/stages/pacs_task.yml", "-e", json.dumps({"container_images_digests": digests}))
        docker("rmi", "--force", behind_ref, behind_digest)
    clean, report = collect(reports)
    assert clean.returncode == NO_DRIFT and report["drift"] == [], clean.report()
