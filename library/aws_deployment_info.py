#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_deployment_info
short_description: Read back what is live of one PACS deployment on AWS
description:
  - Reads one deployment's AWS resources, found by name or by the deployment tag as the aws_* roles make them,
    for a day-two report; resource ids, endpoint DNS names, the ECS task definition revision that runs and the
    Secrets Manager secret versions its containers read.
  - Read-only; never changes anything (RV(changed) is always false) and supports check mode.
  - Never reads a secret's value; only the secrets' metadata (ListSecrets).
  - A resource that does not exist is left out (or empty) and named in RV(missing). An AWS error such as
    AccessDenied fails the module and names the service it came from.
version_added: "1.0.0"
options:
  deployment:
    description: Name of the deployment (C(pacs_deployment)), the prefix of its resource names.
    type: str
    required: true
  tag_key:
    description: Tag whose value is the deployment's name on its tagged resources.
    type: str
    default: pacs:deployment
  secret_prefix:
    description: Prefix of the deployment's secret names, without the trailing C(/). Defaults to C(<deployment>/pki).
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: What is live of pacs-prod
  aws_deployment_info:
    deployment: pacs-prod
    region: eu-west-1
  register: live

- name: Say which task definition revision runs and what is missing
  ansible.builtin.debug:
    msg: >-
      revision {{ live.ecs.task_definition_revision }} of {{ live.ecs.latest_revision }};
      missing {{ live.missing | join(', ') }}
"""

RETURN = r"""
vpcs:
  description: The VPCs by network name (the C(pacs:network) tag, else the C(Name) tag without the deployment prefix).
  returned: always
  type: dict
  sample: {provider: {id: vpc-0123456789abcdef0, cidr: 10.0.0.0/16}}
load_balancers:
  description: The load balancers C(<deployment>-admin) and C(<deployment>-dimse) that exist, by name.
  returned: always
  type: dict
  contains:
    arn: {description: ARN., type: str}
    dns_name: {description: DNS name., type: str}
    scheme: {description: C(internet-facing) or C(internal)., type: str}
    type: {description: C(application) or C(network)., type: str}
    state: {description: State code such as C(active)., type: str}
endpoint_service:
  description: The tagged VPC endpoint service (PrivateLink) of the NLB with its C(id), C(service_name) and C(state).
  returned: always
  type: dict
consumer_endpoints:
  description: The tagged endpoints of the consumer VPC, each with C(id), C(service_name), C(state) and C(dns_names).
  returned: always
  type: list
  elements: dict
private_zone:
  description: The tagged private hosted zone, with C(id), C(name) and its A and CNAME C(records) (C(name), C(type),
    C(values)); empty when there is none.
  returned: always
  type: dict
ecs:
  description: The ECS cluster, service and task definition; only C(cluster) and C(latest_revision) without a service.
  returned: always
  type: dict
  contains:
    cluster: {description: Cluster name; null when it does not exist., type: str}
    service: {description: Service name., type: str}
    status: {description: Service status such as C(ACTIVE)., type: str}
    desired_count: {description: Desired task count., type: int}
    running_count: {description: Running task count., type: int}
    task_definition: {description: ARN of the task definition the service runs., type: str}
    task_definition_revision: {description: Its revision., type: int}
    latest_revision: {description: Newest ACTIVE revision of the family; null when there is none., type: int}
    deployments:
      description: The service's deployments (C(status), C(rollout_state), C(task_definition), C(running_count)).
      type: list
      elements: dict
    containers:
      description:
        - Containers of the running task definition; C(name), C(image), C(labels) (its docker labels) and C(secrets),
          the version id of each Secrets Manager secret it reads, by the secret's short name (or ARN when the secret
          is not under O(secret_prefix)).
        - That is the version a task started now gets (the one staged as referenced, C(AWSCURRENT) by default);
          a task started before the secret changed (RV(secrets.last_changed)) still holds the earlier value.
      type: list
      elements: dict
secrets:
  description: The secrets under O(secret_prefix) by short name (what follows the prefix); metadata only.
  returned: always
  type: dict
  contains:
    arn: {description: ARN., type: str}
    current_version: {description: Version id staged C(AWSCURRENT)., type: str}
    last_changed: {description: When the secret last changed (ISO 8601)., type: str}
instances:
  description: The tagged EC2 instances that are not terminated, by C(Name) tag.
  returned: always
  type: dict
  contains:
    id: {description: Instance id., type: str}
    state: {description: State such as C(running)., type: str}
    private_ip: {description: Private address., type: str}
    http_tokens: {description: C(required) when only IMDSv2 answers., type: str}
buckets:
  description: Names of the tagged S3 buckets (those whose name starts with C(<deployment>-)).
  returned: always
  type: list
  elements: str
file_systems:
  description: The tagged EFS file systems (C(id), C(name), C(state)).
  returned: always
  type: list
  elements: dict
datasync_tasks:
  description: The tagged DataSync tasks (C(arn), C(name), C(status)).
  returned: always
  type: list
  elements: dict
user_pools:
  description: The tagged Cognito user pools named C(<deployment>-...) (C(id), C(name), C(arn)).
  returned: always
  type: list
  elements: dict
missing:
  description: What the deployment should have but AWS does not, in words.
  returned: always
  type: list
  elements: str
  sample: ["load balancer mol-pacs-a-admin", "ECS service mol-pacs-a-pacs"]
"""

import contextlib

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws

EXPECTED_NETWORKS = ("provider", "consumer", "onprem")
EXPECTED_HOSTS = ("client", "storage")  # roles/aws_hosts: instances <deployment>-<role>


class Deployment:
    """The deployment's names, its tag, one retrying client per service and the list of what is missing."""

    def __init__(self, module):
        self.module = module
        self.name = module.params["deployment"]
        self.tag_key = module.params["tag_key"]
        self.secret_prefix = (module.params["secret_prefix"] or f"{self.name}/pki").rstrip("/")
        self.tag_filter = [{"Name": f"tag:{self.tag_key}", "Values": [self.name]}]
        self.tagged = f"tagged {self.tag_key}={self.name}"
        self.missing = []
        self.secret_stages = {}  # secret ARN: {stage: version id}
        self._clients = {}

    def client(self, service):
        if service not in self._clients:
            self._clients[service] = pacs_aws.aws_client(self.module, service)
        return self._clients[service]

    def owns(self, tags):
        return pacs_aws.tags_to_dict(tags).get(self.tag_key) == self.name

    def expect(self, found, what):
        if not found:
            self.missing.append(what)
        return found


def read_vpcs(dep, result):
    vpcs = {}
    for vpc in pacs_aws.paginate(dep.client("ec2"), "describe_vpcs", "Vpcs", Filters=dep.tag_filter):
        tags = pacs_aws.tags_to_dict(vpc.get("Tags"))
        network = tags.get("pacs:network") or tags.get("Name", vpc["VpcId"]).removeprefix(f"{dep.name}-")
        vpcs[network] = {"id": vpc["VpcId"], "cidr": vpc["CidrBlock"]}
    for network in EXPECTED_NETWORKS:
        dep.expect(network in vpcs, f"VPC {dep.name}-{network}")
    return {"vpcs": vpcs}


def read_load_balancers(dep, result):
    found = {}
    for name in (f"{dep.name}-admin", f"{dep.name}-dimse"):
        try:
            lbs = dep.client("elbv2").describe_load_balancers(Names=[name], aws_retry=True)["LoadBalancers"]
        except is_boto3_error_code("LoadBalancerNotFound"):
            lbs = []
        for lb in dep.expect(lbs, f"load balancer {name}"):
            found[name] = {
                "arn": lb["LoadBalancerArn"],
                "dns_name": lb.get("DNSName"),
                "scheme": lb.get("Scheme"),
                "type": lb.get("Type"),
                "state": (lb.get("State") or {}).get("Code"),
            }
    return {"load_balancers": found}


def read_endpoints(dep, result):
    ec2 = dep.client("ec2")
    configs = pacs_aws.paginate(ec2, "describe_vpc_endpoint_service_configurations", "ServiceConfigurations")
    live = [c for c in configs if dep.owns(c.get("Tags")) and c.get("ServiceState") not in ("Deleting", "Deleted")]
    service = {}
    if dep.expect(live, f"VPC endpoint service {dep.tagged}"):
        config = live[0]
        service = {"id": config["ServiceId"], "service_name": config["ServiceName"], "state": config["ServiceState"]}
    consumer = result["vpcs"].get("consumer", {}).get("id")
    endpoints = []
    if consumer:
        filters = [*dep.tag_filter, {"Name": "vpc-id", "Values": [consumer]}]
        for endpoint in pacs_aws.paginate(ec2, "describe_vpc_endpoints", "VpcEndpoints", Filters=filters):
            if endpoint.get("State", "").lower() not in ("deleting", "deleted"):
                endpoints.append(
                    {
                        "id": endpoint["VpcEndpointId"],
                        "service_name": endpoint["ServiceName"],
                        "state": endpoint["State"],
                        "dns_names": [entry["DnsName"] for entry in endpoint.get("DnsEntries") or []],
                    }
                )
        dep.expect(endpoints, f"interface endpoint in VPC {dep.name}-consumer")
    return {"endpoint_service": service, "consumer_endpoints": endpoints}


def zone_records(client, zone_id):
    records, kwargs = [], {"HostedZoneId": zone_id}
    while True:
        page = client.list_resource_record_sets(aws_retry=True, **kwargs)
        for record in page["ResourceRecordSets"]:
            if record["Type"] in ("A", "CNAME"):
                values = [value["Value"] for value in record.get("ResourceRecords") or []]
                alias = (record.get("AliasTarget") or {}).get("DNSName")
                records.append({"name": record["Name"], "type": record["Type"], "values": values or [alias]})
        if not page.get("IsTruncated"):
            return records
        kwargs.update(StartRecordName=page["NextRecordName"], StartRecordType=page["NextRecordType"])


def read_private_zone(dep, result):
    route53 = dep.client("route53")
    zones = pacs_aws.paginate(route53, "list_hosted_zones", "HostedZones", page_param="Marker", page_field="NextMarker")
    private = {zone["Id"].rsplit("/", 1)[-1]: zone for zone in zones if (zone.get("Config") or {}).get("PrivateZone")}
    ids = list(private)
    for start in range(0, len(ids), 10):  # ListTagsForResources takes ten ids at most
        tag_sets = route53.list_tags_for_resources(
            ResourceType="hostedzone", ResourceIds=ids[start : start + 10], aws_retry=True
        )["ResourceTagSets"]
        for tag_set in tag_sets:
            if dep.owns(tag_set.get("Tags")):
                zone_id = tag_set["ResourceId"]
                records = zone_records(route53, zone_id)
                return {"private_zone": {"id": zone_id, "name": private[zone_id]["Name"], "records": records}}
    dep.missing.append(f"Route 53 private hosted zone {dep.tagged}")
    return {"private_zone": {}}


def read_secrets(dep, result):
    prefix = f"{dep.secret_prefix}/"
    listed = pacs_aws.paginate(
        dep.client("secretsmanager"), "list_secrets", "SecretList", Filters=[{"Key": "name", "Values": [prefix]}]
    )
    secrets = {}
    for secret in listed:
        if not secret["Name"].startswith(prefix) or secret.get("DeletedDate"):
            continue
        stages = {stage: v for v, staged in (secret.get("SecretVersionsToStages") or {}).items() for stage in staged}
        dep.secret_stages[secret["ARN"]] = stages
        changed = secret.get("LastChangedDate")
        secrets[secret["Name"][len(prefix) :]] = {
            "arn": secret["ARN"],
            "current_version": stages.get("AWSCURRENT"),
            "last_changed": changed.isoformat() if changed else None,
        }
    dep.expect(secrets, f"Secrets Manager secrets {prefix}*")
    return {"secrets": secrets}


def container_secrets(dep, container, secrets):
    """{short name (or ARN): version id} of the Secrets Manager secrets one container reads."""
    known = {}
    for short, secret in secrets.items():
        known[secret["arn"]] = known[f"{dep.secret_prefix}/{short}"] = (short, secret["arn"])
    found = {}
    for ref in container.get("secrets") or []:
        value_from = ref.get("valueFrom", "")
        if value_from.startswith("arn:") and ":secretsmanager:" not in value_from:
            continue  # an SSM parameter
        # arn:aws:secretsmanager:region:account:secret:name-suffix[:json-key:version-stage:version-id], or a name
        parts = value_from.split(":") if value_from.startswith("arn:") else [value_from]
        head, tail = ":".join(parts[:7]), [*parts[7:], "", "", ""]
        short, arn = known.get(head, (head, head))
        found[short] = tail[2] or dep.secret_stages.get(arn, {}).get(tail[1] or "AWSCURRENT")
    return found


def latest_revision(client, family):
    arns = pacs_aws.paginate(
        client, "list_task_definitions", "taskDefinitionArns", page_param="nextToken", page_field="nextToken",
        familyPrefix=family, status="ACTIVE",
    )  # fmt: skip
    revisions = [int(arn.rsplit(":", 1)[1]) for arn in arns if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family]
    return max(revisions, default=None)


def read_ecs(dep, result):
    ecs, name, family = dep.client("ecs"), dep.name, f"{dep.name}-pacs"
    clusters = ecs.describe_clusters(clusters=[name], aws_retry=True).get("clusters") or []
    cluster = dep.expect([c for c in clusters if c.get("status") == "ACTIVE"], f"ECS cluster {name}")
    services = ecs.describe_services(cluster=name, services=[family], aws_retry=True)["services"] if cluster else []
    service = dep.expect([s for s in services if s.get("status") != "INACTIVE"], f"ECS service {family}")
    latest = dep.expect(latest_revision(ecs, family), f"ECS task definition family {family}")
    if not service:
        return {"ecs": {"cluster": name if cluster else None, "latest_revision": latest}}
    service = service[0]
    task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"], aws_retry=True)["taskDefinition"]
    keys = ("status", "rolloutState", "taskDefinition", "runningCount")
    return {
        "ecs": {
            "cluster": name,
            "service": service["serviceName"],
            "status": service.get("status"),
            "desired_count": service.get("desiredCount"),
            "running_count": service.get("runningCount"),
            "task_definition": task["taskDefinitionArn"],
            "task_definition_revision": task["revision"],
            "latest_revision": latest,
            "deployments": [
                camel_dict_to_snake_dict({k: d.get(k) for k in keys}) for d in service.get("deployments") or []
            ],
            "containers": [
                {
                    "name": c["name"],
                    "image": c.get("image"),
                    "labels": c.get("dockerLabels") or {},
                    "secrets": container_secrets(dep, c, result["secrets"]),
                }
                for c in task.get("containerDefinitions") or []
            ],
        }
    }


def read_instances(dep, result):
    filters = [
        *dep.tag_filter,
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
    ]
    instances = {}
    for reservation in pacs_aws.paginate(dep.client("ec2"), "describe_instances", "Reservations", Filters=filters):
        for instance in reservation["Instances"]:
            name = pacs_aws.tags_to_dict(instance.get("Tags")).get("Name", instance["InstanceId"])
            instances[name] = {
                "id": instance["InstanceId"],
                "state": instance["State"]["Name"],
                "private_ip": instance.get("PrivateIpAddress"),
                "http_tokens": (instance.get("MetadataOptions") or {}).get("HttpTokens"),
            }
    for role in EXPECTED_HOSTS:
        dep.expect(f"{dep.name}-{role}" in instances, f"EC2 instance {dep.name}-{role}")
    return {"instances": instances}


def read_buckets(dep, result):
    s3, buckets = dep.client("s3"), []
    for bucket in s3.list_buckets(aws_retry=True).get("Buckets") or []:
        if not bucket["Name"].startswith(f"{dep.name}-"):  # bucket names are global: the roles prefix them
            continue
        try:
            tags = s3.get_bucket_tagging(Bucket=bucket["Name"], aws_retry=True).get("TagSet")
        except is_boto3_error_code("NoSuchTagSet"):
            tags = []
        if dep.owns(tags):
            buckets.append(bucket["Name"])
    dep.expect(buckets, f"S3 buckets {dep.tagged}")
    return {"buckets": sorted(buckets)}


def read_file_systems(dep, result):
    listed = pacs_aws.paginate(
        dep.client("efs"), "describe_file_systems", "FileSystems", page_param="Marker", page_field="NextMarker"
    )
    found = [
        {"id": fs["FileSystemId"], "name": fs.get("Name"), "state": fs.get("LifeCycleState")}
        for fs in listed
        if dep.owns(fs.get("Tags")) and fs.get("LifeCycleState") not in ("deleting", "deleted")
    ]
    dep.expect(found, f"EFS file system {dep.tagged}")
    return {"file_systems": found}


def read_datasync_tasks(dep, result):
    client = dep.client("datasync")
    found = [
        {"arn": task["TaskArn"], "name": task.get("Name"), "status": task.get("Status")}
        for task in pacs_aws.paginate(client, "list_tasks", "Tasks")
        if pacs_aws.datasync_tags(client, task["TaskArn"]).get(dep.tag_key) == dep.name
    ]
    dep.expect(found, f"DataSync task {dep.tagged}")
    return {"datasync_tasks": found}


def read_user_pools(dep, result):
    client, found = dep.client("cognito-idp"), []
    for pool in pacs_aws.paginate(client, "list_user_pools", "UserPools", MaxResults=60):
        if pool["Name"].startswith(f"{dep.name}-"):
            described = client.describe_user_pool(UserPoolId=pool["Id"], aws_retry=True)["UserPool"]
            if (described.get("UserPoolTags") or {}).get(dep.tag_key) == dep.name:
                found.append({"id": pool["Id"], "name": pool["Name"], "arn": described.get("Arn")})
    dep.expect(found, f"Cognito user pool {dep.tagged}")
    return {"user_pools": found}


# (what is read, for an error message; the reader). Secrets before ECS, VPCs before the endpoints.
READERS = [
    ("VPCs (EC2)", read_vpcs),
    ("load balancers (ELBv2)", read_load_balancers),
    ("VPC endpoint service and endpoints (EC2)", read_endpoints),
    ("private hosted zone (Route 53)", read_private_zone),
    ("secrets' metadata (Secrets Manager)", read_secrets),
    ("cluster, service and task definition (ECS)", read_ecs),
    ("instances (EC2)", read_instances),
    ("buckets (S3)", read_buckets),
    ("file systems (EFS)", read_file_systems),
    ("tasks (DataSync)", read_datasync_tasks),
    ("user pools (Cognito)", read_user_pools),
]


def main():
    argument_spec = {
        "deployment": {"type": "str", "required": True},
        "tag_key": {"type": "str", "default": "pacs:deployment"},
        "secret_prefix": {"type": "str"},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    dep = Deployment(module)
    result = {}
    for what, reader in READERS:
        try:
            result.update(reader(dep, result))
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
            module.fail_json_aws(err, msg=f"could not read the {what} of deployment {dep.name}")
    module.exit_json(changed=False, missing=dep.missing, **result)


if __name__ == "__main__":
    main()
