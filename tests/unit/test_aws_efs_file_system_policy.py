"""efs_file_system_policy against moto's in-process EFS (DeleteFileSystemPolicy from lab_emulator)."""

from __future__ import annotations

import json

import boto3
import pytest

from library.efs_file_system_policy import main
from tests.support.module_runner import mocked_aws, ok, run_module


@pytest.fixture
def efs():
    with mocked_aws():
        client = boto3.client("efs", region_name="us-east-1")
        client.fs_id = client.create_file_system(CreationToken="pacs")["FileSystemId"]
        yield client


def policy(fs_id):
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyTls",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "*",
                "Resource": f"arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/{fs_id}",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def args(efs, **extra):
    return {"file_system_id": efs.fs_id, "policy": policy(efs.fs_id), "region": "us-east-1", **extra}


def stored(efs):
    try:
        return json.loads(efs.describe_file_system_policy(FileSystemId=efs.fs_id)["Policy"])
    except efs.exceptions.PolicyNotFound:
        return None


def test_check_mode_puts_nothing(efs):
    assert ok(main, args(efs), check_mode=True).changed
    assert stored(efs) is None


def test_put_then_rerun_is_unchanged_whatever_the_key_order(efs):
    first = ok(main, args(efs))
    assert first.changed and first["policy"] == policy(efs.fs_id)
    assert stored(efs) == policy(efs.fs_id)
    reordered = json.dumps({"Statement": policy(efs.fs_id)["Statement"], "Version": "2012-10-17"}, indent=1)
    assert not ok(main, args(efs, policy=reordered)).changed


def test_a_changed_policy_is_replaced(efs):
    ok(main, args(efs))
    wider = policy(efs.fs_id)
    wider["Statement"].append({"Sid": "NoRoot", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*"})
    replaced = ok(main, args(efs, policy=wider))
    assert replaced.changed and replaced["differences"] == ["policy"]
    assert stored(efs) == wider


def test_absent_goes_back_to_the_default_policy(efs):
    ok(main, args(efs))
    absent = args(efs, state="absent", policy=None)
    assert ok(main, absent, check_mode=True).changed
    assert stored(efs) is not None
    assert ok(main, absent).changed
    assert stored(efs) is None
    assert not ok(main, absent).changed


def test_bad_documents_are_refused(efs):
    assert "not valid JSON" in run_module(main, args(efs, policy="{oops")).get("msg", "")
    missing = run_module(main, {"file_system_id": efs.fs_id, "region": "us-east-1"})
    assert missing.failed and "policy" in missing["msg"]
