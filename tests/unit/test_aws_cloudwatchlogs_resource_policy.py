"""cloudwatchlogs_resource_policy against moto's in-process CloudWatch Logs."""

from __future__ import annotations

import json

import boto3
import pytest

from library.cloudwatchlogs_resource_policy import main
from tests.support.module_runner import mocked_aws, ok, run_module

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DataSyncLogs",
            "Effect": "Allow",
            "Principal": {"Service": "datasync.amazonaws.com"},
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "arn:aws:logs:us-east-1:123456789012:log-group:/pacs/datasync:*",
        }
    ],
}


@pytest.fixture
def logs():
    with mocked_aws():
        yield boto3.client("logs", region_name="us-east-1")


def args(**extra):
    base = {"name": "pacs-datasync-logs", "policy": POLICY, "region": "us-east-1"}
    base.update(extra)
    return base


def stored(logs):
    return {
        p["policyName"]: json.loads(p["policyDocument"]) for p in logs.describe_resource_policies()["resourcePolicies"]
    }


def test_check_mode_creates_nothing(logs):
    assert ok(main, args(), check_mode=True).changed
    assert "pacs-datasync-logs" not in stored(logs)


def test_create_then_rerun_is_unchanged_whatever_the_key_order(logs):
    first = ok(main, args())
    assert first.changed
    assert first["resource_policy"]["policy"] == POLICY
    assert stored(logs)["pacs-datasync-logs"] == POLICY
    # The same document as a JSON string with its keys in another order.
    reordered = json.dumps({"Statement": POLICY["Statement"], "Version": "2012-10-17"}, indent=2)
    assert not ok(main, args(policy=reordered)).changed
    assert not ok(main, args(), check_mode=True).changed


def test_a_changed_document_is_put_again(logs):
    ok(main, args())
    wider = json.loads(json.dumps(POLICY))
    wider["Statement"][0]["Condition"] = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    in_check = ok(main, args(policy=wider), check_mode=True)
    assert in_check.changed and in_check["differences"] == ["policy"]
    assert stored(logs)["pacs-datasync-logs"] == POLICY
    assert ok(main, args(policy=wider)).changed
    assert stored(logs)["pacs-datasync-logs"] == wider


def test_absent_deletes_and_is_then_unchanged(logs):
    ok(main, args())
    logs.put_resource_policy(policyName="someone-else", policyDocument=json.dumps(POLICY))
    absent = args(state="absent", policy=None)
    assert ok(main, absent, check_mode=True).changed
    assert "pacs-datasync-logs" in stored(logs)
    assert ok(main, absent).changed
    assert set(stored(logs)) == {"someone-else"}
    assert not ok(main, absent).changed


def test_bad_documents_are_refused(logs):
    assert "not valid JSON" in run_module(main, args(policy="{not json")).get("msg", "")
    assert "JSON object" in run_module(main, args(policy="[1, 2]")).get("msg", "")
    missing = run_module(main, {"name": "x", "region": "us-east-1"})
    assert missing.failed and "policy" in missing["msg"]
