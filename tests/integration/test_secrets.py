"""No secret in the output or the logs, and key files only their service user can read.

The main job (with its smoke checks), the config collection and an ingest run at full verbosity
(-vvv). Every private key in the lab's Secrets Manager (the CA and the four leaves, matched by each
line of their base64 body) and every admin web password must be absent from their output, from the
reports collect.yml writes and from the logs the lab writes (.lab/log: dockerd, moto, the registry).
On the hosts and in the task's TLS folders, each key file is mode 0600 and owned by the user of the
service that reads it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.ansible_run import run_playbook
from tests.support.lab_aws import lab_client

ROOT = Path(__file__).resolve().parents[2]
CT_DIR = ROOT / "data" / "dicom"
DEPLOYMENT = "pacs-lab"


def secret_values() -> dict[str, str]:
    """{name: text} of every private key body line, every password and every plain-string secret (the lab
    ALB's session cookie key) in the lab's Secrets Manager."""
    client = lab_client("secretsmanager")
    found = {}
    for entry in client.list_secrets()["SecretList"]:
        # The deployment's secrets, and the CA's private key, which has a prefix of its own (role pki).
        if not entry["Name"].startswith((f"{DEPLOYMENT}/", f"{DEPLOYMENT}-ca/")):
            continue
        text = client.get_secret_value(SecretId=entry["Name"])["SecretString"]
        if not text.lstrip().startswith("{"):
            found[f"{entry['Name']} (whole value)"] = text
            continue
        value = json.loads(text)
        if "private_key" in value:
            # Lines of 16 characters or more: a short last line ("Zg==") could turn up by chance.
            body = [line for line in value["private_key"].splitlines() if len(line) >= 16 and "-----" not in line]
            for number, line in enumerate(body):
                found[f"{entry['Name']} private key line {number}"] = line
        for user in value.get("users", []):
            found[f"{entry['Name']} password of {user['name']}"] = user["password"]
    return found


@pytest.fixture(scope="module")
def verbose_runs(site_first_run, tmp_path_factory):
    assert site_first_run.returncode == 0, "the lab did not come up:\n" + site_first_run.report()
    work = tmp_path_factory.mktemp("secrets")
    source = work / "ingest"
    source.mkdir()
    for ct in sorted(CT_DIR.glob("*.dcm")):
        shutil.copy(ct, source / ct.name)
    reports = work / "reports"
    runs = {
        "site.yml": run_playbook("playbooks/site.yml", "-vvv", timeout=3600),
        "collect.yml": run_playbook(
            "playbooks/collect.yml", "-vvv", "-e", json.dumps({"collect_reports_dir": str(reports)})
        ),
        "ingest.yml": run_playbook("playbooks/ingest.yml", "-vvv", "-e", json.dumps({"source": str(source)})),
    }
    return runs, reports


def test_the_verbose_runs_pass(verbose_runs):
    runs, _ = verbose_runs
    for name, run in runs.items():
        assert run.returncode == 0, f"{name}:\n{run.report()}"
    assert "All smoke checks passed" in runs["site.yml"].output


def test_no_secret_in_the_output_of_verbose_runs(verbose_runs):
    runs, _ = verbose_runs
    secrets = secret_values()
    assert sum("private key" in name for name in secrets) >= 5 * 2 and any("password" in n for n in secrets)
    assert f"{DEPLOYMENT}/admin-web/session-cookie (whole value)" in secrets, sorted(secrets)
    for name, run in runs.items():
        leaked = sorted(what for what, value in secrets.items() if value in run.output)
        assert leaked == [], f"{name} printed: {leaked}"


def test_no_secret_in_reports_or_lab_logs(verbose_runs):
    _, reports = verbose_runs
    files = sorted(reports.glob("*")) + sorted((ROOT / ".lab" / "log").glob("*.log"))
    assert any(path.suffix == ".json" for path in files) and any(path.name == "moto.log" for path in files)
    secrets = secret_values()
    for path in files:
        text = path.read_text(errors="replace")
        leaked = sorted(what for what, value in secrets.items() if value in text)
        assert leaked == [], f"{path} holds: {leaked}"


@pytest.mark.parametrize(("host", "user"), [("pacs-lab-client", "ghostunnel"), ("pacs-lab-storage", "ghostunnel")])
def test_host_key_files_are_0600_and_owned_by_the_service_user(host, user, site_first_run):
    listing = subprocess.run(
        ["docker", "exec", host, "find", "/etc", "-name", "*key*.pem", "-printf", "%m %u %p\n"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    keys = [line.split() for line in listing if line]
    assert keys, f"no key file on {host}"
    for mode, owner, path in keys:
        assert (mode, owner) == ("600", user), f"{host}:{path} is {mode} {owner}"


def test_task_key_files_are_0600_and_owned_by_the_container_user(site_first_run):
    # The task definition's TLS wrapper writes each container's key on its own task storage.
    for container in ("nginx", "ghostunnel-storage", "ghostunnel-query", "ghostunnel-move"):
        name = f"{DEPLOYMENT}-{container}"
        user = subprocess.run(
            ["docker", "inspect", "--format={{.Config.User}}", name], capture_output=True, text=True, check=True
        ).stdout.strip()
        listing = subprocess.run(
            ["docker", "exec", name, "stat", "-c", "%a %u", "/run/pacs-tls/tls.key", "/run/pacs-tls"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        key, folder = (line.split() for line in listing[:2])
        assert key == ["600", user.split(":")[0]], f"{name}: tls.key is {key}"
        assert folder == ["700", user.split(":")[0]], f"{name}: /run/pacs-tls is {folder}"
        # The wrapper unsets the key before the program starts: not in its environment.
        environ = subprocess.run(
            ["docker", "exec", name, "sh", "-c", "tr '\\0' '\\n' < /proc/1/environ | cut -d= -f1"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert "TLS_PRIVATE_KEY" not in environ, f"{name}'s program has the key in its environment"
