"""ec2_vpc_endpoint_connection against moto's in-process EC2 (with lab_emulator's endpoint connections)."""

from __future__ import annotations

import boto3
import pytest

from library.ec2_vpc_endpoint_connection import main
from tests.support.module_runner import mocked_aws, ok, run_module


@pytest.fixture
def aws():
    with mocked_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        elbv2 = boto3.client("elbv2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.7.{n}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
            for n, zone in ((1, "us-east-1a"), (2, "us-east-1b"))
        ]
        nlb = elbv2.create_load_balancer(Name="dimse", Subnets=subnets, Type="network", Scheme="internal")
        service = ec2.create_vpc_endpoint_service_configuration(
            NetworkLoadBalancerArns=[nlb["LoadBalancers"][0]["LoadBalancerArn"]], AcceptanceRequired=True
        )["ServiceConfiguration"]

        def endpoint():
            answer = ec2.create_vpc_endpoint(
                VpcId=vpc, ServiceName=service["ServiceName"], VpcEndpointType="Interface", SubnetIds=subnets
            )
            return answer["VpcEndpoint"]["VpcEndpointId"]

        ec2.service_id, ec2.endpoint = service["ServiceId"], endpoint
        yield ec2


def state(ec2, endpoint_id):
    return ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]["State"]


def args(ec2, endpoint_ids, **extra):
    return {"service_id": ec2.service_id, "vpc_endpoint_ids": endpoint_ids, "region": "us-east-1", **extra}


def test_only_the_given_endpoint_is_accepted_and_a_rerun_changes_nothing(aws):
    ours, theirs = aws.endpoint(), aws.endpoint()
    assert state(aws, ours) == "pendingAcceptance"

    in_check = ok(main, args(aws, [ours]), check_mode=True)
    assert in_check.changed and in_check["connections"] == {ours: "available"}
    assert state(aws, ours) == "pendingAcceptance"

    accepted = ok(main, args(aws, [ours]))
    assert accepted.changed and accepted["changed_endpoint_ids"] == [ours]
    assert accepted["connections"] == {ours: "available"}
    assert state(aws, ours) == "available"
    assert state(aws, theirs) == "pendingAcceptance"

    again = ok(main, args(aws, [ours]))
    assert not again.changed and again["changed_endpoint_ids"] == []


def test_rejected_endpoints_are_rejected(aws):
    theirs = aws.endpoint()
    assert ok(main, args(aws, [theirs], state="rejected")).changed
    assert state(aws, theirs) == "rejected"
    assert not ok(main, args(aws, [theirs], state="rejected")).changed


def test_an_endpoint_without_a_connection_is_named(aws):
    result = run_module(main, args(aws, ["vpce-0000000000000000a"]))
    assert result.failed and "vpce-0000000000000000a" in result["msg"]
