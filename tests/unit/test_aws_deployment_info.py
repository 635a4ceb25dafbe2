"""aws_deployment_info against moto's in-process AWS: a small deployment built with boto3, read back.

moto 5.2.5 (with lab_emulator) answers every call the module makes, endpoint services and Route 53 private
zones included, so nothing here is skipped or faked. Its quirks: a load balancer is `active` once described (an
NLB's ARN says `app/`, not `net/`), a service's running count stays 0, an interface endpoint is `available` at once.
"""

from __future__ import annotations

import json
from unittest import mock

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError

from library.aws_deployment_info import main
from tests.support.module_runner import mocked_aws, ok, run_module

REGION = "us-east-1"
DEP = "mol-pacs-a"
OTHER = "mol-pacs-b"
KEY_MARKER = "-----BEGIN PRIVATE KEY----- NEVER-IN-THE-REPORT"


def tags(deployment, name=None, **extra):
    pairs = {"pacs:deployment": deployment, **({"Name": name} if name else {}), **extra}
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


def vpc(ec2, deployment, network, cidr):
    spec = [{"ResourceType": "vpc", "Tags": tags(deployment, f"{deployment}-{network}", **{"pacs:network": network})}]
    vpc_id = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=spec)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock=cidr.replace(".0.0/16", ".1.0/24"), AvailabilityZone="us-east-1a"
    )
    return vpc_id, subnet["Subnet"]["SubnetId"]


def network(ec2, built):
    built["provider"], provider_subnet = vpc(ec2, DEP, "provider", "10.0.0.0/16")
    built["consumer"], consumer_subnet = vpc(ec2, DEP, "consumer", "10.1.0.0/16")
    built["other_vpc"], _ = vpc(ec2, OTHER, "provider", "10.9.0.0/16")
    nlb = boto3.client("elbv2", region_name=REGION).create_load_balancer(
        Name=f"{DEP}-dimse", Type="network", Scheme="internal", Subnets=[provider_subnet]
    )["LoadBalancers"][0]
    built["nlb"] = nlb
    service = ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[nlb["LoadBalancerArn"]],
        AcceptanceRequired=False,
        TagSpecifications=[{"ResourceType": "vpc-endpoint-service", "Tags": tags(DEP, f"{DEP}-dimse")}],
    )["ServiceConfiguration"]
    built["service"] = service
    built["endpoint"] = ec2.create_vpc_endpoint(
        VpcId=built["consumer"],
        ServiceName=service["ServiceName"],
        VpcEndpointType="Interface",
        SubnetIds=[consumer_subnet],
        TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": tags(DEP, f"{DEP}-consumer-dimse")}],
    )["VpcEndpoint"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    built["instance"] = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        SubnetId=provider_subnet,
        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags(DEP, f"{DEP}-storage")}],
    )["Instances"][0]


def private_zone(built):
    route53 = boto3.client("route53", region_name=REGION)
    for deployment, vpc_id in ((DEP, built["provider"]), (OTHER, built["other_vpc"])):
        zone = route53.create_hosted_zone(
            Name="pacs.internal",
            CallerReference=deployment,
            HostedZoneConfig={"PrivateZone": True},
            VPC={"VPCRegion": REGION, "VPCId": vpc_id},
        )["HostedZone"]
        zone_id = zone["Id"].rsplit("/", 1)[-1]
        route53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id, AddTags=tags(deployment))
        address = "10.0.1.10" if deployment == DEP else "10.9.1.10"
        record = {"Name": "storage.pacs.internal", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": address}]}
        route53.change_resource_record_sets(
            HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]}
        )
        if deployment == DEP:
            built["zone_id"] = zone_id


def secrets(built):
    sm = boto3.client("secretsmanager", region_name=REGION)
    built["secrets"] = {
        name: sm.create_secret(Name=f"{DEP}/pki/{name}", SecretString=json.dumps({"private_key": KEY_MARKER}))
        for name in ("ca", "pacs-edge")
    }
    built["edge_v2"] = sm.put_secret_value(SecretId=f"{DEP}/pki/pacs-edge", SecretString=KEY_MARKER + " v2")
    sm.create_secret(Name=f"{OTHER}/pki/ca", SecretString=KEY_MARKER)


def compute(built):
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName=DEP)
    edge_arn, edge_v1 = built["secrets"]["pacs-edge"]["ARN"], built["secrets"]["pacs-edge"]["VersionId"]
    for tag in ("1.0", "1.1"):
        ecs.register_task_definition(
            family=f"{DEP}-pacs",
            containerDefinitions=[
                {"name": "pacs", "image": f"pacs:{tag}", "memory": 512, "dockerLabels": {"pacs.version": tag}},
                {
                    "name": "ghostunnel-storage",
                    "image": "ghostunnel:1",
                    "memory": 128,
                    "secrets": [{"name": "TLS_PRIVATE_KEY", "valueFrom": f"{edge_arn}:private_key::"}],
                    # as roles/aws_compute labels it: the version registered, the first one here
                    "dockerLabels": {"pacs.tls-secret": "pacs-edge", "pacs.tls-secret-version": edge_v1},
                },
            ],
        )
    ecs.create_service(cluster=DEP, serviceName=f"{DEP}-pacs", taskDefinition=f"{DEP}-pacs:1", desiredCount=1)


def storage_and_identity():
    s3 = boto3.client("s3", region_name=REGION)
    for deployment in (DEP, OTHER):
        bucket = f"{deployment}-images-123456789012-{REGION}"
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags(deployment)})
    s3.create_bucket(Bucket=f"{DEP}-untagged")
    boto3.client("efs", region_name=REGION).create_file_system(CreationToken=DEP, Tags=tags(DEP, f"{DEP}-pacs"))
    idp = boto3.client("cognito-idp", region_name=REGION)
    idp.create_user_pool(PoolName=f"{DEP}-admin", UserPoolTags={"pacs:deployment": DEP})
    idp.create_user_pool(PoolName=f"{OTHER}-admin", UserPoolTags={"pacs:deployment": OTHER})


@pytest.fixture
def deployment():
    """mol-pacs-a without its on-prem VPC, ALB, client host and DataSync task; a VPC, zone, bucket, secret and
    user pool of mol-pacs-b beside it."""
    with mocked_aws():
        built = {}
        network(boto3.client("ec2", region_name=REGION), built)
        private_zone(built)
        secrets(built)
        compute(built)
        storage_and_identity()
        yield built


def args(**extra):
    return {"deployment": DEP, "region": REGION, **extra}


def test_reads_ids_and_dns_names(deployment):
    result = ok(main, args())
    assert not result.changed
    assert result["vpcs"] == {
        "provider": {"id": deployment["provider"], "cidr": "10.0.0.0/16"},
        "consumer": {"id": deployment["consumer"], "cidr": "10.1.0.0/16"},
    }
    assert result["load_balancers"] == {
        f"{DEP}-dimse": {
            "arn": deployment["nlb"]["LoadBalancerArn"],
            "dns_name": deployment["nlb"]["DNSName"],
            "scheme": "internal",
            "type": "network",
            "state": "active",  # moto's NLB is active from the first DescribeLoadBalancers on
        }
    }
    service = deployment["service"]
    assert result["endpoint_service"] == {
        "id": service["ServiceId"],
        "service_name": service["ServiceName"],
        "state": service["ServiceState"],
    }
    (endpoint,) = result["consumer_endpoints"]
    assert endpoint["id"] == deployment["endpoint"]["VpcEndpointId"]
    assert endpoint["service_name"] == service["ServiceName"]
    assert endpoint["dns_names"] == [e["DnsName"] for e in deployment["endpoint"]["DnsEntries"]]
    assert result["private_zone"] == {
        "id": deployment["zone_id"],
        "name": "pacs.internal.",
        "records": [{"name": "storage.pacs.internal.", "type": "A", "values": ["10.0.1.10"]}],
    }
    instance = deployment["instance"]
    assert result["instances"] == {
        f"{DEP}-storage": {
            "id": instance["InstanceId"],
            "state": "running",
            "private_ip": instance["PrivateIpAddress"],
            "http_tokens": "required",
        }
    }
    assert result["buckets"] == [f"{DEP}-images-123456789012-{REGION}"]
    assert [(fs["name"], fs["state"]) for fs in result["file_systems"]] == [(f"{DEP}-pacs", "available")]
    assert [pool["name"] for pool in result["user_pools"]] == [f"{DEP}-admin"]
    assert result["datasync_tasks"] == []


def test_ecs_revision_and_secret_versions(deployment):
    result = ok(main, args())
    ecs = result["ecs"]
    assert ecs["cluster"] == DEP
    assert ecs["service"] == f"{DEP}-pacs"
    assert ecs["desired_count"] == 1
    assert ecs["task_definition"].endswith(f"task-definition/{DEP}-pacs:1")
    assert (ecs["task_definition_revision"], ecs["latest_revision"]) == (1, 2)
    assert [(d["status"], d["task_definition"]) for d in ecs["deployments"]] == [("PRIMARY", ecs["task_definition"])]
    assert set(ecs["deployments"][0]) == {"status", "rollout_state", "task_definition", "running_count"}

    secrets = result["secrets"]
    assert set(secrets) == {"ca", "pacs-edge"}
    edge = secrets["pacs-edge"]
    assert edge["arn"] == deployment["secrets"]["pacs-edge"]["ARN"]
    assert edge["current_version"] == deployment["edge_v2"]["VersionId"]
    assert edge["current_version"] != deployment["secrets"]["pacs-edge"]["VersionId"]
    assert secrets["ca"]["current_version"] == deployment["secrets"]["ca"]["VersionId"]
    assert edge["last_changed"]

    containers = {c["name"]: c for c in ecs["containers"]}
    assert containers["pacs"] == {"name": "pacs", "image": "pacs:1.0", "labels": {"pacs.version": "1.0"}, "secrets": {}}
    # The label says which version the revision was registered with, `secrets` what a new task would read now.
    ghostunnel = containers["ghostunnel-storage"]
    assert ghostunnel["labels"]["pacs.tls-secret-version"] == deployment["secrets"]["pacs-edge"]["VersionId"]
    assert ghostunnel["secrets"] == {"pacs-edge": deployment["edge_v2"]["VersionId"]}


def test_what_was_not_made_is_missing_and_the_other_deployment_absent(deployment):
    result = ok(main, args())
    assert result["missing"] == [
        f"VPC {DEP}-onprem",
        f"load balancer {DEP}-admin",
        f"EC2 instance {DEP}-client",
        f"DataSync task tagged pacs:deployment={DEP}",
    ]
    shown = json.dumps(result)
    assert deployment["other_vpc"] not in shown
    assert OTHER not in shown
    assert "10.9.1.10" not in shown


def test_no_secret_value_in_the_result(deployment):
    result = ok(main, args())
    assert result["secrets"]
    assert "NEVER-IN-THE-REPORT" not in json.dumps(result)
    assert "PRIVATE KEY" not in json.dumps(result)


def test_an_empty_account_is_all_missing_in_check_mode():
    with mocked_aws():
        empty = args(deployment="nothing-here", secret_prefix="nothing-here/tls/")  # noqa: S106 - a name prefix
        result = ok(main, empty, check_mode=True)
    assert not result.changed
    assert result["vpcs"] == {} and result["load_balancers"] == {} and result["endpoint_service"] == {}
    assert result["consumer_endpoints"] == [] and result["private_zone"] == {}
    assert result["ecs"] == {"cluster": None, "latest_revision": None}
    assert "ECS cluster nothing-here" in result["missing"]
    assert "ECS service nothing-here-pacs" in result["missing"]
    assert "ECS task definition family nothing-here-pacs" in result["missing"]
    assert "Secrets Manager secrets nothing-here/tls/*" in result["missing"]
    assert "Route 53 private hosted zone tagged pacs:deployment=nothing-here" in result["missing"]
    assert len(result["missing"]) == 17


def test_access_denied_fails_and_names_the_service(deployment):
    real_call = botocore.client.BaseClient._make_api_call

    def deny_list_secrets(client, operation, params):
        if operation == "ListSecrets":
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not for you"}}, operation)
        return real_call(client, operation, params)

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", deny_list_secrets):
        result = run_module(main, args())
    assert result.failed
    assert "Secrets Manager" in result["msg"] and DEP in result["msg"]
    assert "not for you" in result["msg"]
