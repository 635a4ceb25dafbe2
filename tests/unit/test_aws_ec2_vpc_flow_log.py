"""ec2_vpc_flow_log against moto's in-process EC2, CloudWatch Logs and S3."""

from __future__ import annotations

import boto3
import pytest

from library.ec2_vpc_flow_log import main
from tests.support.module_runner import mocked_aws, ok, run_module

ROLE = "arn:aws:iam::123456789012:role/pacs-flow-logs"


@pytest.fixture
def aws():
    with mocked_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        boto3.client("logs", region_name="us-east-1").create_log_group(logGroupName="/pacs/flow")
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="pacs-logs")
        ec2.vpc_id = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
        yield ec2


def cwl(ec2, **extra):
    base = {
        "resource_id": ec2.vpc_id,
        "log_group_name": "/pacs/flow",
        "deliver_logs_permission_arn": ROLE,
        "tags": {"Name": "pacs-flow"},
        "region": "us-east-1",
    }
    base.update(extra)
    return base


def flow_logs(ec2):
    return ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [ec2.vpc_id]}])["FlowLogs"]


def test_check_mode_creates_nothing(aws):
    assert ok(main, cwl(aws), check_mode=True).changed
    assert flow_logs(aws) == []


def test_cloudwatch_create_then_rerun_is_unchanged(aws):
    first = ok(main, cwl(aws))
    assert first.changed and first["flow_log_id"].startswith("fl-")
    (flow_log,) = flow_logs(aws)
    assert flow_log["LogGroupName"] == "/pacs/flow"
    assert flow_log["TrafficType"] == "ALL"
    again = ok(main, cwl(aws))
    assert not again.changed
    assert again["flow_log_id"] == first["flow_log_id"]
    assert not ok(main, cwl(aws), check_mode=True).changed


def test_s3_destination_beside_cloudwatch(aws):
    ok(main, cwl(aws))
    s3 = {
        "resource_id": aws.vpc_id,
        "log_destination_type": "s3",
        "log_destination": "arn:aws:s3:::pacs-logs",
        "traffic_type": "REJECT",
        "region": "us-east-1",
    }
    created = ok(main, s3)
    assert created.changed
    assert len(flow_logs(aws)) == 2
    assert not ok(main, s3).changed


def test_tags_update_and_replacement_on_fixed_change(aws):
    first = ok(main, cwl(aws))
    retagged = ok(main, cwl(aws, tags={"Name": "pacs-flow", "Owner": "ops"}))
    assert retagged.changed and retagged["flow_log_id"] == first["flow_log_id"]
    (flow_log,) = flow_logs(aws)
    assert {t["Key"]: t["Value"] for t in flow_log["Tags"]} == {"Name": "pacs-flow", "Owner": "ops"}

    in_check = ok(main, cwl(aws, traffic_type="REJECT"), check_mode=True)
    assert in_check.changed and in_check["replaced"]
    assert flow_logs(aws)[0]["TrafficType"] == "ALL"
    replaced = ok(main, cwl(aws, traffic_type="REJECT"))
    assert replaced.changed and replaced["replaced"]
    assert replaced["flow_log_id"] != first["flow_log_id"]
    (flow_log,) = flow_logs(aws)
    assert flow_log["TrafficType"] == "REJECT"


def test_absent_deletes_and_is_then_unchanged(aws):
    ok(main, cwl(aws))
    absent = cwl(aws, state="absent")
    assert ok(main, absent, check_mode=True).changed
    assert len(flow_logs(aws)) == 1
    assert ok(main, absent).changed
    assert flow_logs(aws) == []
    assert not ok(main, absent).changed


def test_options_are_validated(aws):
    no_role = run_module(main, cwl(aws, deliver_logs_permission_arn=None))
    assert no_role.failed and "deliver_logs_permission_arn" in no_role["msg"]
    no_bucket = run_module(main, {"resource_id": aws.vpc_id, "log_destination_type": "s3", "region": "us-east-1"})
    assert no_bucket.failed and "bucket" in no_bucket["msg"]
    bad_type = run_module(main, cwl(aws, traffic_type="SOME"))
    assert bad_type.failed and "traffic_type" in bad_type["msg"]
