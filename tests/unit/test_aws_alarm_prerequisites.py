"""sns_topic_encryption and ecs_cluster_insights (role aws_alarms) against moto's in-process SNS and ECS."""

from __future__ import annotations

import boto3
import pytest

from library import ecs_cluster_insights, sns_topic_encryption
from tests.support.module_runner import mocked_aws, ok, run_module

KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


@pytest.fixture
def sns():
    with mocked_aws():
        client = boto3.client("sns", region_name="us-east-1")
        client.topic_arn = client.create_topic(Name="pacs-alarms")["TopicArn"]
        yield client


@pytest.fixture
def ecs():
    with mocked_aws():
        client = boto3.client("ecs", region_name="us-east-1")
        client.create_cluster(clusterName="pacs")
        yield client


def topic_key(sns):
    return sns.get_topic_attributes(TopicArn=sns.topic_arn)["Attributes"].get("KmsMasterKeyId", "")


def insights(ecs):
    (cluster,) = ecs.describe_clusters(clusters=["pacs"], include=["SETTINGS"])["clusters"]
    return {s["name"]: s["value"] for s in cluster["settings"]}["containerInsights"]


def test_topic_is_encrypted_once(sns):
    args = {"topic_arn": sns.topic_arn, "kms_master_key_id": KEY, "region": "us-east-1"}
    in_check = ok(sns_topic_encryption.main, args, check_mode=True)
    assert in_check.changed
    assert topic_key(sns) == ""
    first = ok(sns_topic_encryption.main, args)
    assert first.changed
    assert first["kms_master_key_id"] == KEY
    assert topic_key(sns) == KEY
    assert not ok(sns_topic_encryption.main, args).changed
    assert not ok(sns_topic_encryption.main, args, check_mode=True).changed


def test_missing_topic_fails_but_not_in_check_mode(sns):
    args = {"topic_arn": sns.topic_arn + "-missing", "kms_master_key_id": KEY, "region": "us-east-1"}
    assert ok(sns_topic_encryption.main, args, check_mode=True).changed
    failed = run_module(sns_topic_encryption.main, args)
    assert failed.failed
    assert "does not exist" in failed["msg"]


def test_container_insights_are_enabled_once(ecs):
    args = {"cluster": "pacs", "region": "us-east-1"}
    assert ok(ecs_cluster_insights.main, args, check_mode=True).changed
    assert insights(ecs) == "disabled"
    first = ok(ecs_cluster_insights.main, args)
    assert first.changed
    assert first["value"] == "enabled"
    assert insights(ecs) == "enabled"
    assert not ok(ecs_cluster_insights.main, args).changed
    assert ok(ecs_cluster_insights.main, {**args, "value": "disabled"}).changed
    assert insights(ecs) == "disabled"


def test_missing_cluster_fails_but_not_in_check_mode(ecs):
    args = {"cluster": "nope", "region": "us-east-1"}
    assert ok(ecs_cluster_insights.main, args, check_mode=True).changed
    failed = run_module(ecs_cluster_insights.main, args)
    assert failed.failed
    assert "does not exist" in failed["msg"]
