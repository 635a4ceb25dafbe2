"""elb_network_lb_security_groups against moto's in-process ELBv2 (with the project's NLB extension)."""

from __future__ import annotations

import boto3
import pytest

from library.elb_network_lb_security_groups import main
from tests.support.module_runner import mocked_aws, ok, run_module


@pytest.fixture
def aws():
    with mocked_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        elbv2 = boto3.client("elbv2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        elbv2.subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{n}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
            for n, zone in ((1, "us-east-1a"), (2, "us-east-1b"))
        ]
        elbv2.groups = [
            ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"] for name in ("a", "b")
        ]
        yield elbv2


def args(aws, **extra):
    return {
        "name": "pacs-dimse",
        "security_groups": [aws.groups[0]],
        "enforce_inbound_rules_on_privatelink_traffic": False,
        "subnets": aws.subnets,
        "tags": {"Project": "pacs"},
        "region": "us-east-1",
        **extra,
    }


def stored(aws, name="pacs-dimse"):
    return aws.describe_load_balancers(Names=[name])["LoadBalancers"][0]


def test_the_nlb_is_made_with_its_group_and_privatelink_setting_once(aws):
    planned = ok(main, args(aws), check_mode=True)
    assert planned.changed and planned["created"]
    assert aws.describe_load_balancers()["LoadBalancers"] == []
    made = ok(main, args(aws))
    assert made.changed and made["created"]
    balancer = stored(aws)
    assert balancer["Type"] == "network" and balancer["Scheme"] == "internal"
    assert balancer["SecurityGroups"] == [aws.groups[0]]
    assert balancer["EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"] == "off"
    tags = aws.describe_tags(ResourceArns=[balancer["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
    assert tags == [{"Key": "Project", "Value": "pacs"}]
    again = ok(main, args(aws))
    assert not again.changed and not again["created"]
    assert again["load_balancer_arn"] == balancer["LoadBalancerArn"]


def test_changed_groups_and_setting_are_set_on_the_existing_nlb(aws):
    ok(main, args(aws))
    wanted = args(aws, security_groups=aws.groups, enforce_inbound_rules_on_privatelink_traffic=True)
    assert ok(main, wanted, check_mode=True).changed
    assert stored(aws)["SecurityGroups"] == [aws.groups[0]]
    result = ok(main, wanted)
    assert result.changed and not result["created"]
    balancer = stored(aws)
    assert sorted(balancer["SecurityGroups"]) == sorted(aws.groups)
    assert balancer["EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"] == "on"
    assert not ok(main, wanted).changed


def test_an_nlb_made_without_groups_is_named_and_left_alone(aws):
    aws.create_load_balancer(Name="pacs-dimse", Subnets=aws.subnets, Type="network", Scheme="internal")
    result = run_module(main, args(aws))
    assert result.failed
    assert "pacs-dimse" in result["msg"] and "without security groups" in result["msg"]
    assert stored(aws).get("SecurityGroups") in (None, [])


def test_an_application_lb_of_the_name_is_refused(aws):
    aws.create_load_balancer(Name="pacs-dimse", Subnets=aws.subnets, SecurityGroups=[aws.groups[0]])
    result = run_module(main, args(aws))
    assert result.failed and "application" in result["msg"]


def test_an_empty_group_list_is_refused_before_any_call(aws):
    result = run_module(main, args(aws, security_groups=[]))
    assert result.failed and "at least one" in result["msg"]
    assert aws.describe_load_balancers()["LoadBalancers"] == []
