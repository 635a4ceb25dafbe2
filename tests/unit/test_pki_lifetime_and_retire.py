"""Role pki: a leaf's own lifetime (pki_leaves[].validity_days) and the retire entry point
(pki_retired_leaves), run with ansible-playbook against the lab's AWS emulator on a free loopback
port (lab_emulator, tests/unit/conftest.py's emulator_url, stopped by its pid), as deployment unit-pki
of the lab's inventory.

molecule/pki (side effect lifetime_and_retire.yml) runs the same story inside the scenario; this one
needs no lab and adds the bounds of validity_days and retire's refusals against a live account.
"""

from __future__ import annotations

import datetime
import json
import sys
import time
from pathlib import Path

import boto3
import pytest
from cryptography import x509

from tests.support.ansible_run import PlaybookRun, run_playbook
from tests.support.module_runner import FAKE_AWS_ENV
from tests.support.moto_server import reset

DEPLOYMENT = "unit-pki"
PREFIX = f"{DEPLOYMENT}/pki"
WEB = {"name": "web", "common_name": "web", "dns_names": ["web.unit.internal"], "usages": ["serverAuth"]}
PEER = {"name": "peer", "common_name": "peer", "usages": ["clientAuth"], "validity_days": 90}
DELETE_TASK = "Delete the secret of each retired leaf"

# The role's retire entry point as a playbook would call it (playbooks/stages/pki.yml's connection settings);
# expect_retired is what pki_retired_secret_names must be.
RETIRE_PLAYBOOK = """\
- name: Retire leaves
  hosts: controller
  gather_facts: false
  module_defaults:
    group/amazon.aws.aws: "{{ pacs_aws_module_defaults }}"
    group/community.aws.aws: "{{ pacs_aws_module_defaults }}"
  environment:
    AWS_REGION: "{{ pacs_aws_region }}"
    AWS_DEFAULT_REGION: "{{ pacs_aws_region }}"
  tasks:
    - name: Retire through the pki role
      ansible.builtin.include_role:
        name: pki
        tasks_from: retire
    - name: Check what the role reports as retired
      ansible.builtin.assert:
        that: pki_retired_secret_names == expect_retired
        fail_msg: "retired {{ pki_retired_secret_names }}, want {{ expect_retired }}"
"""


@pytest.fixture
def secrets(emulator_url, monkeypatch):
    """A clean account for each test; its Secrets Manager client."""
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    reset(emulator_url)
    return boto3.client("secretsmanager", endpoint_url=emulator_url, region_name="us-east-1")


def play(playbook: str, endpoint: str, tmp_path: Path, **variables) -> PlaybookRun:
    """Run a playbook with the lab's inventory as deployment unit-pki against this test's moto."""
    extra = tmp_path / f"vars-{time.monotonic_ns()}.json"
    extra.write_text(
        json.dumps(
            {
                "pacs_deployment": DEPLOYMENT,
                "pacs_aws_endpoint_url": endpoint,
                # Every run converges in full: no stamp file in the lab's state folder.
                "pacs_full_converge": True,
                "pki_stamp_file": "",
                "ansible_python_interpreter": sys.executable,
                **variables,
            }
        )
    )
    return run_playbook(playbook, "-e", f"@{extra}", timeout=600)


def pki(endpoint, tmp_path, leaves, **variables) -> PlaybookRun:
    return play("playbooks/stages/pki.yml", endpoint, tmp_path, pki_leaves=leaves, **variables)


def retire(endpoint, tmp_path, leaves, retired, expect) -> PlaybookRun:
    playbook = tmp_path / "retire.yml"
    playbook.write_text(RETIRE_PLAYBOOK)
    return play(str(playbook), endpoint, tmp_path, pki_leaves=leaves, pki_retired_leaves=retired, expect_retired=expect)


def certificate(secrets, name: str) -> x509.Certificate:
    value = json.loads(secrets.get_secret_value(SecretId=f"{PREFIX}/{name}")["SecretString"])
    return x509.load_pem_x509_certificate(value["certificate"].encode())


def days_left(secrets, name: str) -> float:
    now = datetime.datetime.now(datetime.UTC)
    return (certificate(secrets, name).not_valid_after_utc - now).total_seconds() / 86400


def account(secrets) -> dict[str, str]:
    """Every secret of the account: name -> current version."""
    listed = secrets.list_secrets(IncludePlannedDeletion=True)["SecretList"]
    return {
        s["Name"]: next(v for v, stages in s["SecretVersionsToStages"].items() if "AWSCURRENT" in stages)
        for s in listed
    }


def test_a_leaf_gets_its_own_lifetime_and_keeps_its_certificate_when_it_changes(secrets, emulator_url, tmp_path):
    run = pki(emulator_url, tmp_path, [WEB, PEER])
    assert run.returncode == 0, run.report()
    assert abs(days_left(secrets, "peer") - 90) <= 1
    assert abs(days_left(secrets, "web") - 397) <= 1  # pki_leaf_validity_days
    issued = certificate(secrets, "peer")

    # A longer lifetime re-issues nothing: the valid certificate is kept until its next issue.
    longer = [WEB, {**PEER, "validity_days": 120}]
    run = pki(emulator_url, tmp_path, longer)
    assert run.returncode == 0, run.report()
    assert "Nothing re-issued: every certificate is valid and as desired." in run.output, run.report()
    assert certificate(secrets, "peer") == issued

    # The next issue (here a forced rotation) uses it.
    run = pki(emulator_url, tmp_path, longer, pki_force_rotate=True)
    assert run.returncode == 0, run.report()
    assert abs(days_left(secrets, "peer") - 120) <= 1
    assert abs(days_left(secrets, "web") - 397) <= 1


@pytest.mark.parametrize(
    ("validity_days", "rule"),
    [
        (30, "pki_leaves[1] (peer): validity_days (30) must be longer than pki_renew_before_days (30)"),
        (3650, "pki_leaves[1] (peer): validity_days (3650) must be shorter than pki_ca_validity_days (3650)"),
    ],
)
def test_a_lifetime_outside_the_bounds_is_refused_before_any_aws_call(
    secrets, emulator_url, tmp_path, validity_days, rule
):
    run = pki(emulator_url, tmp_path, [WEB, {**PEER, "validity_days": validity_days}])
    assert run.returncode != 0
    assert rule in run.output, run.report()
    assert "Create or update the symmetric KMS key" not in run.output, run.report()
    assert account(secrets) == {}


def test_retire_deletes_exactly_that_secret_and_a_rerun_changes_nothing(secrets, emulator_url, tmp_path):
    run = pki(emulator_url, tmp_path, [WEB, PEER])
    assert run.returncode == 0, run.report()
    before = account(secrets)
    assert f"{PREFIX}/peer" in before

    run = retire(emulator_url, tmp_path, [WEB], ["peer"], [f"{PREFIX}/peer"])
    assert run.returncode == 0, run.report()
    assert run.changed == 1, run.report()
    # Gone at once (not pending deletion), everything else as it was.
    assert account(secrets) == {name: version for name, version in before.items() if name != f"{PREFIX}/peer"}

    run = retire(emulator_url, tmp_path, [WEB], ["peer"], [])
    assert run.returncode == 0, run.report()
    assert run.changed == 0, run.report()

    # No recovery window holds the name: the leaf can be issued again right away.
    run = pki(emulator_url, tmp_path, [WEB, PEER])
    assert run.returncode == 0, run.report()
    assert abs(days_left(secrets, "peer") - 90) <= 1


def test_retire_deletes_a_secret_pending_deletion_at_once(secrets, emulator_url, tmp_path):
    # Deleted by hand with a recovery window, the name stays taken (moto refuses to create it, as AWS
    # does) until retire deletes it without one.
    secrets.create_secret(Name=f"{PREFIX}/old", SecretString="{}")
    secrets.delete_secret(SecretId=f"{PREFIX}/old", RecoveryWindowInDays=7)
    with pytest.raises(secrets.exceptions.ResourceExistsException):
        secrets.create_secret(Name=f"{PREFIX}/old", SecretString="{}")

    run = retire(emulator_url, tmp_path, [WEB], ["old"], [f"{PREFIX}/old"])
    assert run.returncode == 0, run.report()
    assert account(secrets) == {}
    secrets.create_secret(Name=f"{PREFIX}/old", SecretString="{}")


@pytest.mark.parametrize(
    ("retired", "rule"),
    [
        (["web", "peer"], "pki_retired_leaves: 'peer' is still in pki_leaves"),
        (["web", "ca"], "pki_retired_leaves: 'ca' is the CA's secret, not a leaf"),
        (["web", "peer/../ca"], "pki_retired_leaves: 'peer/../ca' is not a leaf name"),
    ],
)
def test_retiring_a_listed_leaf_or_the_ca_is_refused_before_any_change(secrets, emulator_url, tmp_path, retired, rule):
    # retire reads no secret value: stand-ins are enough. web (not listed) comes first, so a check
    # made name by name, or after a deletion, would delete it before refusing.
    for name in ("ca", "web", "peer"):
        secrets.create_secret(Name=f"{PREFIX}/{name}", SecretString="{}")
    before = account(secrets)

    run = retire(emulator_url, tmp_path, [PEER], retired, [])
    assert run.returncode != 0
    assert rule in run.output, run.report()
    assert DELETE_TASK not in run.output, run.report()
    assert account(secrets) == before
