"""ec2_vpc_endpoint_policy and ec2_prefix_list_info against moto's in-process EC2."""

from __future__ import annotations

import json

import boto3
import pytest

from library.ec2_prefix_list_info import main as prefix_list_info
from library.ec2_vpc_endpoint_policy import main
from tests.support.module_runner import mocked_aws, ok, run_module

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "EcrImageLayers",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::prod-us-east-1-starport-layer-bucket/*",
        }
    ],
}


@pytest.fixture
def ec2():
    with mocked_aws():
        client = boto3.client("ec2", region_name="us-east-1")
        vpc = client.create_vpc(CidrBlock="10.5.0.0/16")["Vpc"]["VpcId"]
        table = client.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        client.endpoint_id = client.create_vpc_endpoint(
            VpcId=vpc, ServiceName="com.amazonaws.us-east-1.s3", VpcEndpointType="Gateway", RouteTableIds=[table]
        )["VpcEndpoint"]["VpcEndpointId"]
        yield client


def stored(ec2):
    (endpoint,) = ec2.describe_vpc_endpoints(VpcEndpointIds=[ec2.endpoint_id])["VpcEndpoints"]
    return json.loads(endpoint["PolicyDocument"])


def args(ec2, **extra):
    return {"vpc_endpoint_id": ec2.endpoint_id, "policy": POLICY, "region": "us-east-1", **extra}


def test_the_policy_replaces_the_full_access_default_once(ec2):
    assert stored(ec2) != POLICY
    assert ok(main, args(ec2), check_mode=True).changed
    assert stored(ec2) != POLICY
    assert ok(main, args(ec2)).changed
    assert stored(ec2) == POLICY
    reordered = json.dumps({"Statement": POLICY["Statement"], "Version": "2012-10-17"}, indent=3)
    assert not ok(main, args(ec2, policy=reordered)).changed


def test_a_missing_endpoint_is_named(ec2):
    result = run_module(main, args(ec2, vpc_endpoint_id="vpce-0000000000000000a"))
    assert result.failed and "vpce-0000000000000000a" in result["msg"]


def test_prefix_lists_are_found_by_name_and_a_missing_one_is_named(ec2):
    found = ok(prefix_list_info, {"names": ["com.amazonaws.us-east-1.s3"], "region": "us-east-1"})
    assert not found.changed
    assert found["prefix_list_ids"]["com.amazonaws.us-east-1.s3"].startswith("pl-")
    missing = run_module(prefix_list_info, {"names": ["com.amazonaws.us-east-1.nothing"], "region": "us-east-1"})
    assert missing.failed and "com.amazonaws.us-east-1.nothing" in missing["msg"]
