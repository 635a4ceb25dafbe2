"""datasync_task_execution against moto's in-process DataSync, whose executions advance one status per poll."""

from __future__ import annotations

from unittest import mock

import boto3
import pytest
from moto.datasync.models import TaskExecution

from library.datasync_task_execution import main
from tests.support.module_runner import mocked_aws, ok, run_module


@pytest.fixture
def datasync():
    with mocked_aws():
        client = boto3.client("datasync", region_name="us-east-1")
        role = {"BucketAccessRoleArn": "arn:aws:iam::123456789012:role/r"}
        source, destination = (
            client.create_location_s3(S3BucketArn=f"arn:aws:s3:::bucket-{i}", S3Config=role)["LocationArn"]
            for i in range(2)
        )
        client.task_arn = client.create_task(
            SourceLocationArn=source, DestinationLocationArn=destination, Name="pacs-import"
        )["TaskArn"]
        yield client


def args(datasync, **extra):
    base = {"task_arn": datasync.task_arn, "poll_interval": 0.01, "wait_timeout": 30, "region": "us-east-1"}
    base.update(extra)
    return base


def executions(datasync):
    return datasync.list_task_executions(TaskArn=datasync.task_arn)["TaskExecutions"]


def test_check_mode_starts_nothing(datasync):
    result = ok(main, args(datasync), check_mode=True)
    assert result.changed and result["execution_arn"] is None
    assert executions(datasync) == []


def test_waits_through_every_status_to_success(datasync):
    result = ok(main, args(datasync))
    assert result.changed
    assert result["status"] == "SUCCESS"
    # INITIALIZING, PREPARING, TRANSFERRING, VERIFYING, then SUCCESS: five reads.
    assert result["polls"] == 5
    assert result["bytes_transferred"] == 0 and result["files_transferred"] == 0
    assert result["execution_arn"].startswith(datasync.task_arn + "/execution/")
    (execution,) = executions(datasync)
    assert execution["TaskExecutionArn"] == result["execution_arn"]
    # The task is free again: a second run starts a second execution.
    again = ok(main, args(datasync))
    assert again.changed and again["execution_arn"] != result["execution_arn"]
    assert len(executions(datasync)) == 2


def test_without_wait_returns_the_first_status(datasync):
    result = ok(main, args(datasync, wait=False))
    assert result.changed and result["status"] == "INITIALIZING" and result["polls"] == 1


def test_error_fails_with_the_execution(datasync):
    def fail(execution):
        execution.status = "ERROR"

    with mock.patch.object(TaskExecution, "iterate_status", fail):
        result = run_module(main, args(datasync))
    assert result.failed and result.changed
    assert result["status"] == "ERROR" and "ended in ERROR" in result["msg"]
    assert result["execution_arn"]


def test_timeout_fails_with_the_execution(datasync):
    with mock.patch.object(TaskExecution, "iterate_status", lambda execution: None):
        result = run_module(main, args(datasync, wait_timeout=0))
    assert result.failed and "still INITIALIZING" in result["msg"]
    assert result["execution_arn"]


def test_unknown_task_fails(datasync):
    result = run_module(main, args(datasync, task_arn=datasync.task_arn[:-1] + "9"))
    assert result.failed


def test_following_an_execution_reads_it_without_a_change(datasync):
    started = ok(main, args(datasync, wait=False))
    seen = [ok(main, args(datasync, wait=False, execution_arn=started["execution_arn"])) for _ in range(4)]
    assert [r["status"] for r in seen] == ["PREPARING", "TRANSFERRING", "VERIFYING", "SUCCESS"]
    assert not any(r.changed for r in seen)
    assert {r["execution_arn"] for r in seen} == {started["execution_arn"]}
    # Nothing new was started: still the one execution.
    assert len(executions(datasync)) == 1


def test_following_waits_in_check_mode_too(datasync):
    started = ok(main, args(datasync, wait=False))
    followed = ok(main, args(datasync, execution_arn=started["execution_arn"]), check_mode=True)
    assert not followed.changed and followed["status"] == "SUCCESS"


def test_following_an_execution_of_another_task_fails(datasync):
    other = "arn:aws:datasync:us-east-1:123456789012:task/task-x/execution/exec-y"
    result = run_module(main, args(datasync, execution_arn=other))
    assert result.failed and "is not an execution of task" in result["msg"]
