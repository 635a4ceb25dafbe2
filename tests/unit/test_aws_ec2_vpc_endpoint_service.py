"""ec2_vpc_endpoint_service against moto's in-process EC2 and ELBv2."""

from __future__ import annotations

import boto3
import pytest

from library.ec2_vpc_endpoint_service import main
from tests.support.module_runner import mocked_aws, ok, run_module

ACCOUNT = "arn:aws:iam::123456789012:root"
OTHER = "arn:aws:iam::210987654321:root"


@pytest.fixture
def aws():
    with mocked_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        elb = boto3.client("elbv2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
        nlbs = [
            elb.create_load_balancer(
                Name=f"pacs-nlb-{i}", Type="network", Scheme="internal", Subnets=[subnet["SubnetId"]]
            )["LoadBalancers"][0]["LoadBalancerArn"]
            for i in (1, 2)
        ]
        yield ec2, nlbs


def args(nlbs, **extra):
    base = {
        "network_load_balancer_arns": nlbs[:1],
        "acceptance_required": False,
        "allowed_principals": [ACCOUNT],
        "tags": {"Name": "pacs-dicom", "Project": "pacs"},
        "region": "us-east-1",
    }
    base.update(extra)
    return base


def services(ec2):
    return [
        c
        for c in ec2.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"]
        if c.get("ServiceState") not in ("Deleted", "Deleting")
    ]


def test_check_mode_creates_nothing(aws):
    ec2, nlbs = aws
    assert ok(main, args(nlbs), check_mode=True).changed
    assert services(ec2) == []


def test_create_then_rerun_is_unchanged(aws):
    ec2, nlbs = aws
    first = ok(main, args(nlbs))
    assert first.changed
    assert first["service_id"].startswith("vpce-svc-")
    assert first["service_name"].endswith(first["service_id"])
    (config,) = services(ec2)
    assert config["AcceptanceRequired"] is False
    assert config["NetworkLoadBalancerArns"] == nlbs[:1]
    perms = ec2.describe_vpc_endpoint_service_permissions(ServiceId=first["service_id"])["AllowedPrincipals"]
    assert [p["Principal"] for p in perms] == [ACCOUNT]
    assert first["service"]["tags"] == {"Name": "pacs-dicom", "Project": "pacs"}

    again = ok(main, args(nlbs))
    assert not again.changed, again
    assert again["service_id"] == first["service_id"]
    assert not ok(main, args(nlbs), check_mode=True).changed
    assert len(services(ec2)) == 1


def test_settings_principals_and_tags_are_updated(aws):
    ec2, nlbs = aws
    first = ok(main, args(nlbs))
    changed = args(nlbs, network_load_balancer_arns=nlbs, acceptance_required=True, allowed_principals=[OTHER])
    changed["tags"] = {"Name": "pacs-dicom", "Owner": "ops"}
    assert ok(main, changed, check_mode=True).changed
    (config,) = services(ec2)
    assert config["AcceptanceRequired"] is False

    updated = ok(main, changed)
    assert updated.changed
    (config,) = services(ec2)
    assert config["AcceptanceRequired"] is True
    assert sorted(config["NetworkLoadBalancerArns"]) == sorted(nlbs)
    perms = ec2.describe_vpc_endpoint_service_permissions(ServiceId=first["service_id"])["AllowedPrincipals"]
    assert [p["Principal"] for p in perms] == [OTHER]
    tags = {t["Key"]: t["Value"] for t in config["Tags"]}
    assert tags == {"Name": "pacs-dicom", "Owner": "ops"}
    assert not ok(main, changed).changed


def test_absent_deletes_and_is_then_unchanged(aws):
    ec2, nlbs = aws
    ok(main, args(nlbs))
    absent = {"tags": {"Name": "pacs-dicom"}, "state": "absent", "region": "us-east-1"}
    assert ok(main, absent, check_mode=True).changed
    assert len(services(ec2)) == 1
    assert ok(main, absent).changed
    assert services(ec2) == []
    assert not ok(main, absent).changed


def test_name_is_required(aws):
    _, nlbs = aws
    result = run_module(main, args(nlbs, tags={"Project": "pacs"}))
    assert result.failed and "tags.Name" in result["msg"]
    no_nlb = run_module(main, {"tags": {"Name": "x"}, "region": "us-east-1"})
    assert no_nlb.failed and "network_load_balancer_arns" in no_nlb["msg"]
