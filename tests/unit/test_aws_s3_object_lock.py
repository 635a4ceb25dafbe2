"""s3_object_lock and s3_bucket_empty against moto's in-process S3."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from library.s3_bucket_empty import main as empty_main
from library.s3_object_lock import main as lock_main
from tests.support.module_runner import mocked_aws, ok, run_module

BUCKET = "dep-logs-123456789012-us-east-1"
GOVERNANCE_30 = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}}}


@pytest.fixture
def s3():
    with mocked_aws():
        client = boto3.client("s3", region_name="us-east-1")
        # Made without Object Lock, then versioned: as the role makes the log bucket.
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def lock_args(**extra):
    return {"bucket": BUCKET, "days": 30, "region": "us-east-1", **extra}


def test_check_mode_changes_nothing_and_a_missing_bucket_is_a_change(s3):
    assert ok(lock_main, lock_args(), check_mode=True).changed
    with pytest.raises(ClientError):
        s3.get_object_lock_configuration(Bucket=BUCKET)
    assert ok(lock_main, lock_args(bucket="not-made-yet"), check_mode=True).changed
    assert run_module(lock_main, lock_args(bucket="not-made-yet")).failed


def test_lock_turns_on_in_governance_mode_then_rerun_is_unchanged(s3):
    first = ok(lock_main, lock_args())
    assert first.changed
    assert first["object_lock_configuration"] == GOVERNANCE_30
    stored = s3.get_object_lock_configuration(Bucket=BUCKET)["ObjectLockConfiguration"]
    assert stored["ObjectLockEnabled"] == "Enabled"
    assert stored["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
    assert stored["Rule"]["DefaultRetention"]["Days"] == 30
    assert not ok(lock_main, lock_args()).changed
    assert not ok(lock_main, lock_args(), check_mode=True).changed
    longer = ok(lock_main, lock_args(days=60))
    assert longer.changed
    assert longer["object_lock_configuration"]["Rule"]["DefaultRetention"]["Days"] == 60


def test_days_below_one_are_refused(s3):
    result = run_module(lock_main, lock_args(days=0))
    assert result.failed and "days must be at least 1" in result["msg"]


def locked_bucket_with_versions(s3):
    ok(lock_main, lock_args())
    s3.put_object(Bucket=BUCKET, Key="elb/a.log", Body=b"one")
    s3.put_object(Bucket=BUCKET, Key="elb/a.log", Body=b"two")
    s3.put_object(Bucket=BUCKET, Key="s3/b.log", Body=b"three")
    s3.delete_object(Bucket=BUCKET, Key="s3/b.log")  # a delete marker


def test_governance_locked_versions_need_the_bypass(s3):
    locked_bucket_with_versions(s3)
    refused = run_module(empty_main, {"bucket": BUCKET, "region": "us-east-1"})
    assert refused.failed and "could not delete" in refused["msg"]
    assert ok(empty_main, {"bucket": BUCKET, "bypass_governance_retention": True, "region": "us-east-1"}).changed
    listed = s3.list_object_versions(Bucket=BUCKET)
    assert not listed.get("Versions") and not listed.get("DeleteMarkers")
    s3.delete_bucket(Bucket=BUCKET)


def test_empty_in_check_mode_counts_then_empties_policy_first(s3):
    s3.put_bucket_policy(
        Bucket=BUCKET,
        Policy='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS":'
        ' "arn:aws:iam::123456789012:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::' + BUCKET + '/*"}]}',
    )
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"1")
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"2")
    args = {"bucket": BUCKET, "remove_policy": True, "region": "us-east-1"}
    checked = ok(empty_main, args, check_mode=True)
    assert checked.changed and checked["deleted"] == 2 and checked["policy_removed"]
    assert len(s3.list_object_versions(Bucket=BUCKET)["Versions"]) == 2
    done = ok(empty_main, args)
    assert done.changed and done["deleted"] == 2 and done["policy_removed"]
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=BUCKET)
    assert not ok(empty_main, args).changed


def test_a_missing_bucket_is_left_alone(s3):
    result = ok(empty_main, {"bucket": "gone-already", "bypass_governance_retention": True, "region": "us-east-1"})
    assert not result.changed and result["deleted"] == 0
