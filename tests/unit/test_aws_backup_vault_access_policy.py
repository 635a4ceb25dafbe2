"""backup_vault_access_policy against moto's in-process AWS Backup (with the project's extensions: moto
5.2.5 has no vault access policy API)."""

from __future__ import annotations

import json

import boto3
import pytest

from library.backup_vault_access_policy import main
from tests.support.module_runner import mocked_aws, ok, run_module

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "NobodyDeletesRecoveryPoints",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"],
            "Resource": "*",
        }
    ],
}


@pytest.fixture
def backup():
    with mocked_aws():
        client = boto3.client("backup", region_name="us-east-1")
        client.create_backup_vault(BackupVaultName="pacs-a")
        yield client


def args(**extra):
    base = {"backup_vault_name": "pacs-a", "policy": POLICY, "region": "us-east-1"}
    base.update(extra)
    return base


def stored(backup, name="pacs-a"):
    try:
        return json.loads(backup.get_backup_vault_access_policy(BackupVaultName=name)["Policy"])
    except backup.exceptions.ResourceNotFoundException:
        return None


def test_check_mode_puts_nothing(backup):
    assert ok(main, args(), check_mode=True).changed
    assert stored(backup) is None


def test_put_then_rerun_is_unchanged_whatever_the_key_order(backup):
    first = ok(main, args())
    assert first.changed
    assert first["access_policy"]["policy"] == POLICY
    assert first["access_policy"]["backup_vault_arn"].endswith(":backup-vault:pacs-a")
    assert stored(backup) == POLICY
    reordered = json.dumps({"Statement": POLICY["Statement"], "Version": "2012-10-17"}, indent=2)
    assert not ok(main, args(policy=reordered)).changed
    assert not ok(main, args(), check_mode=True).changed


def test_a_changed_document_is_put_again(backup):
    ok(main, args())
    wider = json.loads(json.dumps(POLICY))
    wider["Statement"][0]["Action"].append("backup:DeleteBackupVault")
    in_check = ok(main, args(policy=wider), check_mode=True)
    assert in_check.changed and in_check["differences"] == ["policy"]
    assert stored(backup) == POLICY
    assert ok(main, args(policy=wider)).changed
    assert stored(backup) == wider


def test_absent_removes_and_is_then_unchanged(backup):
    ok(main, args())
    backup.create_backup_vault(BackupVaultName="someone-else")
    backup.put_backup_vault_access_policy(BackupVaultName="someone-else", Policy=json.dumps(POLICY))
    absent = args(state="absent", policy=None)
    assert ok(main, absent, check_mode=True).changed
    assert stored(backup) == POLICY
    result = ok(main, absent)
    assert result.changed and result["access_policy"] == {}
    assert stored(backup) is None
    assert stored(backup, "someone-else") == POLICY
    assert not ok(main, absent).changed
    # A vault that does not exist has no policy to remove.
    assert not ok(main, args(backup_vault_name="gone", state="absent", policy=None)).changed


def test_a_missing_vault_and_bad_documents_are_refused(backup):
    missing = run_module(main, args(backup_vault_name="gone"))
    assert missing.failed and "does not exist" in missing["msg"]
    # In check mode an earlier task may be about to make the vault.
    assert ok(main, args(backup_vault_name="gone"), check_mode=True).changed
    assert "not valid JSON" in run_module(main, args(policy="{not json")).get("msg", "")
    assert "JSON object" in run_module(main, args(policy="[1, 2]")).get("msg", "")
    no_policy = run_module(main, {"backup_vault_name": "pacs-a", "region": "us-east-1"})
    assert no_policy.failed and "policy" in no_policy["msg"]
