"""Helpers for the verifiers of the molecule scenarios dicom_storage_node and dicom_client.

The tests reach the containers with testinfra's docker backend (docker exec), and read
AE titles, ports and names from the project's single source of truth, group_vars/all/pacs.yml.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import yaml

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY") or Path(__file__).resolve().parents[2])
GHOSTUNNEL_VERSION = "v1.8.4"
PEER_DIR = "/root/molecule-peer"


def pacs_vars() -> dict:
    """group_vars/all/pacs.yml, with its simple "{{ other_var }}" references filled in."""
    raw = yaml.safe_load((PROJECT / "group_vars" / "all" / "pacs.yml").read_text())

    def resolve(value):
        if isinstance(value, str):
            return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: str(resolve(raw.get(m.group(1), m.group(0)))), value)
        return value

    return {key: resolve(value) for key, value in raw.items()}


def run_playbook(playbook: str, *args: str) -> subprocess.CompletedProcess:
    """Run a playbook of the scenario against molecule's inventory, with molecule's environment."""
    command = [
        "ansible-playbook",
        "--inventory",
        os.environ["MOLECULE_INVENTORY_FILE"],
        str(Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / playbook),
        *args,
    ]
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    return subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, env=env)


def recap_changed(output: str, host: str) -> int:
    """The changed= count of a host in a playbook's recap."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    match = re.search(rf"^{re.escape(host)}\s*:.*?changed=(\d+)", plain, re.MULTILINE)
    assert match, f"no recap line for {host} in:\n{plain[-3000:]}"
    return int(match.group(1))


def unit_property(host, unit: str, prop: str) -> str:
    return host.check_output(f"systemctl show --property={prop} --value {unit}").strip()


def main_pid(host, unit: str) -> int:
    return int(unit_property(host, unit, "MainPID"))


def proc_status(host, pid: int) -> dict[str, str]:
    status = {}
    for line in host.file(f"/proc/{pid}/status").content_string.splitlines():
        key, _, value = line.partition(":")
        status[key] = value.strip()
    return status


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.5):
    """Poll predicate() until it returns a truthy value (returned) or the timeout passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def listeners(host, port: int) -> set[str]:
    """Local addresses with a TCP listener on port (ss -Hltn)."""
    found = set()
    for line in host.check_output("ss -Hltn").splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[3].rsplit(":", 1)[-1] == str(port):
            found.add(fields[3].rsplit(":", 1)[0])
    return found


def served_serial(peer, address: str, cert: str, key: str, ca: str, server_name: str) -> str:
    """Serial number of the certificate a TLS port serves (openssl s_client from the peer)."""
    out = peer.check_output(
        f"openssl s_client -connect {address} -servername {server_name} -cert {cert} -key {key} -CAfile {ca}"
        " </dev/null 2>/dev/null | openssl x509 -noout -serial"
    )
    return out.strip().partition("=")[2]


def file_serial(host, path: str) -> str:
    return host.check_output(f"openssl x509 -noout -serial -in {path}").strip().partition("=")[2]


def s_client(peer, address: str, server_name: str, ca: str, cert: str | None = None, key: str | None = None):
    """A TLS handshake from the peer, then one second of waiting for the server's verdict (TLS 1.3
    sends a refusal of the client certificate after the handshake)."""
    identity = f"-cert {cert} -key {key}" if cert else ""
    return peer.run(
        f"(sleep 1; echo) | timeout 10 openssl s_client -verify_return_error -brief -connect {address}"
        f" -servername {server_name} -CAfile {ca} {identity}"
    )


def pixel_sha256(host, path: str) -> str:
    """SHA-256 of a DICOM file's pixel data (dcmdump +W writes it to a .raw file)."""
    return host.check_output(
        f"d=$(mktemp -d) && dcmdump -q +W $d {path} >/dev/null && cat $d/*.raw | sha256sum | cut -d' ' -f1; rm -rf $d"
    ).strip()
