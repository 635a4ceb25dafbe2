"""Read one deployment's AWS state back with boto3 and print it as JSON.

    python aws_state.py <deployment> [--tag-key pacs:deployment]

Endpoint, region and credentials come from the environment (AWS_ENDPOINT_URL,
AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). The molecule
scenario's verify and teardown checks assert on the output; this script only
reads and judges nothing.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import tarfile
import urllib.parse

import boto3
from botocore.exceptions import ClientError


def client(name):
    return boto3.client(
        name,
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
        region_name=os.environ["AWS_DEFAULT_REGION"],
    )


def tags_dict(tags):
    return {t["Key"]: t["Value"] for t in tags or []}


def safe(call, default=None, **kwargs):
    try:
        return call(**kwargs)
    except ClientError:
        return default


KEY_PURPOSES = {"secrets": "", "data": "-data", "logs": "-logs", "ca": "-ca"}


def _key_not_pending_deletion(kms, alias):
    """True when the alias names a key that is not pending deletion."""
    key = (safe(kms.describe_key, {}, KeyId=alias) or {}).get("KeyMetadata")
    return bool(key) and key["KeyState"] != "PendingDeletion"


def _key_state(kms, alias):
    key = safe(kms.describe_key, KeyId=alias)
    if not key:
        return {}
    meta = key["KeyMetadata"]
    rotation = safe(kms.get_key_rotation_status, {}, KeyId=meta["KeyId"]) or {}
    policy = json.loads(kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"])
    return {
        "arn": meta["Arn"],
        "state": meta["KeyState"],
        "rotation": rotation.get("KeyRotationEnabled", False),
        "policy": policy,
    }


def kms_state(deployment):
    """The deployment's secrets key (alias/<deployment>), as the checks name it."""
    return _key_state(client("kms"), f"alias/{deployment}")


def kms_keys_state(deployment):
    """Every KMS key of the deployment by purpose: secrets, data, logs (issue 21 item 2) and the CA's."""
    kms = client("kms")
    return {purpose: _key_state(kms, f"alias/{deployment}{suffix}") for purpose, suffix in KEY_PURPOSES.items()}


def ca_key_state(deployment):
    """Where the CA's private key is (role pki): what the CA's certificate secret holds, the key's own secret
    and KMS key, and that key's policy."""
    sm, kms = client("secretsmanager"), client("kms")
    certificate = safe(sm.get_secret_value, {}, SecretId=f"{deployment}/pki/ca") or {}
    key_secret = safe(sm.describe_secret, {}, SecretId=f"{deployment}-ca/private-key") or {}
    key_value = safe(sm.get_secret_value, {}, SecretId=f"{deployment}-ca/private-key") or {}
    ca_key = safe(kms.describe_key, {}, KeyId=f"alias/{deployment}-ca") or {}
    policy = {}
    if ca_key:
        policy = json.loads(kms.get_key_policy(KeyId=ca_key["KeyMetadata"]["KeyId"], PolicyName="default")["Policy"])
    return {
        "certificate_secret_keys": sorted(json.loads(certificate.get("SecretString") or "{}")),
        "key_secret_keys": sorted(json.loads(key_value.get("SecretString") or "{}")),
        "key_secret_kms_key": _key_arn(key_secret.get("KmsKeyId", "")),
        "kms_key": (ca_key.get("KeyMetadata") or {}).get("Arn", ""),
        "kms_key_policy": policy,
    }


def buckets_state(deployment, tag_key):
    s3 = client("s3")
    out = {}
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        tags = tags_dict((safe(s3.get_bucket_tagging, {}, Bucket=name) or {}).get("TagSet"))
        if tags.get(tag_key) != deployment:
            continue
        enc = safe(s3.get_bucket_encryption, {}, Bucket=name) or {}
        rules = enc.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        default = rules[0]["ApplyServerSideEncryptionByDefault"] if rules else {}
        pab = (safe(s3.get_public_access_block, {}, Bucket=name) or {}).get("PublicAccessBlockConfiguration", {})
        versioning = (safe(s3.get_bucket_versioning, {}, Bucket=name) or {}).get("Status", "")
        policy = (safe(s3.get_bucket_policy, {}, Bucket=name) or {}).get("Policy")
        lock = (safe(s3.get_object_lock_configuration, {}, Bucket=name) or {}).get("ObjectLockConfiguration", {})
        retention = lock.get("Rule", {}).get("DefaultRetention", {})
        logging = (safe(s3.get_bucket_logging, {}, Bucket=name) or {}).get("LoggingEnabled", {})
        out[name] = {
            "algorithm": default.get("SSEAlgorithm", ""),
            "kms_key": default.get("KMSMasterKeyID", ""),
            "public_access_block": pab,
            "versioning": versioning,
            # The statements' ids (moto stores a policy and returns it as it was given).
            "policy_sids": sorted(st.get("Sid", "") for st in json.loads(policy)["Statement"]) if policy else [],
            "object_lock": {
                "enabled": lock.get("ObjectLockEnabled", ""),
                "mode": retention.get("Mode", ""),
                "days": retention.get("Days") or 0,
            },
            "lifecycle": [_lifecycle_rule(r) for r in _lifecycle_rules(s3, name)],
            "logging_to": f"{logging['TargetBucket']}/{logging.get('TargetPrefix', '')}" if logging else "",
        }
    return out


def _lifecycle_rules(s3, name):
    return (safe(s3.get_bucket_lifecycle_configuration, {}, Bucket=name) or {}).get("Rules", [])


def _lifecycle_rule(rule):
    """A lifecycle rule as its days: expiry, expiry of noncurrent versions, abort of unfinished uploads."""
    return {
        "id": rule.get("ID", ""),
        "status": rule.get("Status", ""),
        "prefix": rule.get("Filter", {}).get("Prefix", rule.get("Prefix", "")),
        "expiration_days": rule.get("Expiration", {}).get("Days") or 0,
        "noncurrent_expiration_days": rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") or 0,
        "abort_multipart_days": rule.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") or 0,
    }


def efs_state(deployment, tag_key):
    efs = client("efs")
    out = {}
    for fs in efs.describe_file_systems().get("FileSystems", []):
        if tags_dict(fs.get("Tags")).get(tag_key) != deployment:
            continue
        aps = efs.describe_access_points(FileSystemId=fs["FileSystemId"]).get("AccessPoints", [])
        mts = efs.describe_mount_targets(FileSystemId=fs["FileSystemId"]).get("MountTargets", [])
        policy = safe(efs.describe_file_system_policy, {}, FileSystemId=fs["FileSystemId"]) or {}
        out[fs["FileSystemId"]] = {
            "encrypted": fs.get("Encrypted", False),
            "kms_key": fs.get("KmsKeyId", ""),
            "mount_targets": len(mts),
            "access_points": sorted(ap["RootDirectory"]["Path"] for ap in aps),
            "arn": fs.get("FileSystemArn", ""),
            "policy": json.loads(policy["Policy"]) if policy.get("Policy") else {},
            "creation_token": fs.get("CreationToken", ""),
            "performance_mode": fs.get("PerformanceMode", ""),
            "tags": tags_dict(fs.get("Tags")),
        }
    return out


def log_groups_state(deployment):
    logs = client("logs")
    groups = logs.describe_log_groups(logGroupNamePrefix=f"/{deployment}/").get("logGroups", [])
    return {
        g["logGroupName"]: {"kms_key": g.get("kmsKeyId", ""), "retention": g.get("retentionInDays")} for g in groups
    }


def log_resource_policies_state(deployment):
    """CloudWatch Logs resource policies named after the deployment, each as its parsed document."""
    logs = client("logs")
    return {
        p["policyName"]: json.loads(p["policyDocument"])
        for p in logs.describe_resource_policies().get("resourcePolicies", [])
        if p["policyName"].startswith(f"{deployment}-")
    }


def user_pool_state(deployment):
    """The admin web's Cognito user pool: MFA, who creates users, password rules, deletion protection."""
    idp = client("cognito-idp")
    pools = [p for p in idp.list_user_pools(MaxResults=60).get("UserPools", []) if p["Name"] == f"{deployment}-admin"]
    if len(pools) != 1:
        return {"count": len(pools)}
    pool = idp.describe_user_pool(UserPoolId=pools[0]["Id"])["UserPool"]
    mfa = idp.get_user_pool_mfa_config(UserPoolId=pools[0]["Id"])
    return {
        "count": 1,
        "mfa": mfa.get("MfaConfiguration"),
        "totp": (mfa.get("SoftwareTokenMfaConfiguration") or {}).get("Enabled", False),
        "sms_mfa": bool(mfa.get("SmsMfaConfiguration")),
        "admin_create_user_only": (pool.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly"),
        "deletion_protection": pool.get("DeletionProtection", "INACTIVE"),
        "password_policy": (pool.get("Policies") or {}).get("PasswordPolicy") or {},
    }


def secrets_state(deployment):
    sm = client("secretsmanager")
    out = {}
    for secret in sm.list_secrets().get("SecretList", []):
        if secret["Name"].startswith(f"{deployment}/") and not secret.get("DeletedDate"):
            stages = secret.get("SecretVersionsToStages") or {}
            current = [version for version, names in stages.items() if "AWSCURRENT" in names]
            out[secret["Name"]] = {"kms_key": _key_arn(secret.get("KmsKeyId", "")), "current_version": "".join(current)}
    return out


def _key_arn(key_id):
    """A secret names its key as it was given (an alias, an id or an ARN): the key's ARN, to compare them."""
    if not key_id:
        return ""
    described = safe(client("kms").describe_key, None, KeyId=key_id)
    return described["KeyMetadata"]["Arn"] if described else key_id


def network_state(deployment, tag_key):
    ec2 = client("ec2")
    flt = [{"Name": f"tag:{tag_key}", "Values": [deployment]}]
    vpcs = ec2.describe_vpcs(Filters=flt)["Vpcs"]
    vpc_ids = [v["VpcId"] for v in vpcs]
    groups = ec2.describe_security_groups(Filters=flt)["SecurityGroups"] if vpc_ids else []
    open_world = []
    ingress = {}
    for group in groups:
        name = group["GroupName"]
        ingress[name] = []
        for perm in group.get("IpPermissions", []):
            ports = [perm.get("FromPort"), perm.get("ToPort")]
            for rng in perm.get("IpRanges", []):
                ingress[name].append({"ports": ports, "cidr": rng["CidrIp"]})
                if rng["CidrIp"] == "0.0.0.0/0":
                    open_world.append({"group": name, "ports": ports})
            for pair in perm.get("UserIdGroupPairs", []):
                ingress[name].append({"ports": ports, "group": pair["GroupId"]})
    # Where each group lets traffic out: a CIDR, a group id or a prefix list id.
    egress = {
        group["GroupName"]: [
            {"ports": [perm.get("FromPort"), perm.get("ToPort")], "to": to}
            for perm in group.get("IpPermissionsEgress", [])
            for to in [r["CidrIp"] for r in perm.get("IpRanges", [])]
            + [p["GroupId"] for p in perm.get("UserIdGroupPairs", [])]
            + [p["PrefixListId"] for p in perm.get("PrefixListIds", [])]
        ]
        for group in groups
    }
    peerings = ec2.describe_vpc_peering_connections(Filters=flt)["VpcPeeringConnections"]
    endpoints = ec2.describe_vpc_endpoints(Filters=flt)["VpcEndpoints"]
    flow_logs = (
        ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": vpc_ids}])["FlowLogs"] if vpc_ids else []
    )
    route_tables = ec2.describe_route_tables(Filters=flt)["RouteTables"]
    return {
        "vpcs": {tags_dict(v.get("Tags")).get("Name", v["VpcId"]): v["CidrBlock"] for v in vpcs},
        "subnets": len(ec2.describe_subnets(Filters=flt)["Subnets"]),
        # By name, so that one made twice (two runs at once) shows.
        "route_tables": sorted(tags_dict(t.get("Tags")).get("Name", t["RouteTableId"]) for t in route_tables),
        "security_groups": sorted(group["GroupName"] for group in groups),
        "security_groups_open_to_world": open_world,
        "security_group_ids": {
            group["GroupName"][len(deployment) + 1 :]: group["GroupId"]
            for group in groups
            if group["GroupName"].startswith(f"{deployment}-")
        },
        "ingress": ingress,
        "egress": egress,
        "s3_prefix_list": next(
            (
                p["PrefixListId"]
                for p in ec2.describe_prefix_lists()["PrefixLists"]
                if p["PrefixListName"] == f"com.amazonaws.{ec2.meta.region_name}.s3"
            ),
            "",
        ),
        "gateway_endpoint_policies": {
            tags_dict(e.get("Tags")).get("Name", e["VpcEndpointId"]): json.loads(e.get("PolicyDocument") or "{}")
            for e in endpoints
            if e.get("VpcEndpointType") == "Gateway" and e["State"].lower() not in ("deleted", "deleting")
        },
        "peerings": sorted(
            tags_dict(p.get("Tags")).get("Name", "") for p in peerings if p["Status"]["Code"] == "active"
        ),
        "endpoints": sorted(
            (e["ServiceName"].rsplit(".", 1)[-1] if ".vpce." not in e["ServiceName"] else "privatelink")
            for e in endpoints
            if e["State"].lower() not in ("deleted", "deleting")
        ),
        "flow_logs": len(flow_logs),
        "nat_gateways": len(
            [
                n
                for n in ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": vpc_ids}])["NatGateways"]
                if n["State"] in ("pending", "available")
            ]
        )
        if vpc_ids
        else 0,
    }


def load_balancers_state(deployment):
    elb = client("elbv2")
    out = {}
    for name in (f"{deployment}-admin", f"{deployment}-dimse"):
        lbs = safe(elb.describe_load_balancers, {}, Names=[name]) or {}
        for lb in lbs.get("LoadBalancers", []):
            listeners = []
            listener_list = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
            for listener in listener_list:
                rules = elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
                listeners.append(
                    {
                        "port": listener["Port"],
                        "protocol": listener["Protocol"],
                        "default_actions": [a["Type"] for a in listener["DefaultActions"]],
                        "rules": [
                            [a["Type"] for a in sorted(r["Actions"], key=lambda a: a.get("Order", 0))]
                            for r in rules
                            if not r.get("IsDefault")
                        ],
                        "session_timeouts": [
                            a["AuthenticateCognitoConfig"].get("SessionTimeout")
                            for r in rules
                            for a in r["Actions"]
                            if a["Type"] == "authenticate-cognito"
                        ],
                    }
                )
            attributes = elb.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]
            out[name] = {
                "certificates": [
                    c["CertificateArn"] for listener in listener_list for c in listener.get("Certificates", [])
                ],
                "dns_name": lb["DNSName"],
                "deletion_protection": {a["Key"]: a["Value"] for a in attributes}.get("deletion_protection.enabled"),
                "scheme": lb["Scheme"],
                "type": lb["Type"],
                "arn": lb["LoadBalancerArn"],
                "listeners": listeners,
                "security_groups": sorted(lb.get("SecurityGroups") or []),
                "privatelink_inbound_rules": lb.get("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"),
            }
    return out


def admin_name_state(deployment):
    """The admin web's public name: the records of the public zones that name the deployment's admin name
    (<deployment>-admin.<zone>), and the ACM certificates for it."""
    route53, acm = client("route53"), client("acm")
    records = []
    for zone in route53.list_hosted_zones()["HostedZones"]:
        if zone["Config"].get("PrivateZone"):
            continue
        for record in route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]:
            if f"{deployment}-admin." in record["Name"]:
                records.append(
                    {
                        "name": record["Name"],
                        "type": record["Type"],
                        "alias": (record.get("AliasTarget") or {}).get("DNSName", ""),
                        "values": [r["Value"] for r in record.get("ResourceRecords", [])],
                    }
                )
    certificates = []
    for summary in acm.list_certificates()["CertificateSummaryList"]:
        if summary["DomainName"].startswith(f"{deployment}-admin."):
            certificate = acm.describe_certificate(CertificateArn=summary["CertificateArn"])["Certificate"]
            certificates.append(
                {
                    "arn": certificate["CertificateArn"],
                    "domain": certificate["DomainName"],
                    "type": certificate["Type"],
                    "status": certificate["Status"],
                    "validation": sorted(
                        {o.get("ValidationMethod", "") for o in certificate.get("DomainValidationOptions", [])}
                    ),
                    "validation_records": [
                        o["ResourceRecord"]["Name"] for o in certificate.get("DomainValidationOptions", [])
                    ],
                }
            )
    return {"records": records, "certificates": certificates}


def endpoint_services_state(deployment, tag_key):
    ec2 = client("ec2")
    out = []
    for svc in ec2.describe_vpc_endpoint_service_configurations().get("ServiceConfigurations", []):
        if tags_dict(svc.get("Tags")).get(tag_key) != deployment:
            continue
        service_id = svc["ServiceId"]
        permissions = ec2.describe_vpc_endpoint_service_permissions(ServiceId=service_id)
        connections = ec2.describe_vpc_endpoint_connections(Filters=[{"Name": "service-id", "Values": [service_id]}])
        endpoints = {}
        for connection in connections.get("VpcEndpointConnections", []):
            found = ec2.describe_vpc_endpoints(VpcEndpointIds=[connection["VpcEndpointId"]])["VpcEndpoints"]
            name = tags_dict(found[0].get("Tags")).get("Name", connection["VpcEndpointId"]) if found else "?"
            endpoints[name] = connection["VpcEndpointState"]
        out.append(
            {
                "name": svc["ServiceName"],
                "nlbs": svc.get("NetworkLoadBalancerArns", []),
                "acceptance_required": svc.get("AcceptanceRequired"),
                "principals": sorted(p["Principal"] for p in permissions.get("AllowedPrincipals", [])),
                "connections": endpoints,
            }
        )
    return out


def instances_state(deployment, tag_key):
    ec2 = client("ec2")
    out = {}
    reservations = ec2.describe_instances(
        Filters=[
            {"Name": f"tag:{tag_key}", "Values": [deployment]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
        ]
    )["Reservations"]
    for res in reservations:
        for inst in res["Instances"]:
            volume_ids = [m["Ebs"]["VolumeId"] for m in inst.get("BlockDeviceMappings", []) if "Ebs" in m]
            volumes = ec2.describe_volumes(VolumeIds=volume_ids)["Volumes"] if volume_ids else []
            out[tags_dict(inst.get("Tags")).get("Name", inst["InstanceId"])] = {
                "http_tokens": inst.get("MetadataOptions", {}).get("HttpTokens", ""),
                "volumes": [
                    {"encrypted": v.get("Encrypted", False), "kms_key": v.get("KmsKeyId", "")} for v in volumes
                ],
            }
    return out


def ecs_state(deployment):
    ecs = client("ecs")
    services = safe(ecs.describe_services, {}, cluster=deployment, services=[f"{deployment}-pacs"]) or {}
    active = [s for s in services.get("services", []) if s.get("status") != "INACTIVE"]
    clusters = [c for c in ecs.describe_clusters(clusters=[deployment]).get("clusters", []) if c["status"] == "ACTIVE"]
    out = {"cluster": bool(clusters), "services": {}}
    for svc in active:
        task_def = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
        labels = {c["name"]: c.get("dockerLabels") or {} for c in task_def["containerDefinitions"]}
        out["services"][svc["serviceName"]] = {
            "desired_count": svc["desiredCount"],
            "revisions": len(
                ecs.list_task_definitions(familyPrefix=f"{deployment}-pacs", status="ACTIVE")["taskDefinitionArns"]
            ),
            "task_definition": task_def["taskDefinitionArn"],
            # container: [secret name, its version when the revision was registered]
            "tls_secrets": {
                name: [label["pacs.tls-secret"], label.get("pacs.tls-secret-version", "")]
                for name, label in labels.items()
                if "pacs.tls-secret" in label
            },
            "containers": [c["name"] for c in task_def["containerDefinitions"]],
            "efs_volumes": sorted(v["name"] for v in task_def.get("volumes", []) if "efsVolumeConfiguration" in v),
            "efs_file_systems": sorted(
                {
                    v["efsVolumeConfiguration"]["fileSystemId"]
                    for v in task_def.get("volumes", [])
                    if "efsVolumeConfiguration" in v
                }
            ),
            "definition": {c["name"]: _container_facts(c) for c in task_def["containerDefinitions"]},
            "images_in_ecr": {c["name"]: _image_in_ecr(c["image"]) for c in task_def["containerDefinitions"]},
            "settings_bundle": _settings_bundle(task_def),
        }
    return out


def _role_allows(iam, role):
    """Every "<action> <resource>" the role's inline policies allow."""
    statements = []
    for name in safe(iam.list_role_policies, {}, RoleName=role).get("PolicyNames", []):
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        document = json.loads(urllib.parse.unquote(document)) if isinstance(document, str) else document
        statements += document.get("Statement", [])
    return sorted(
        {
            f"{action} {resource}"
            for st in statements
            if st.get("Effect") == "Allow"
            for action in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
            for resource in ([st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"])
        }
    )


def iam_state(deployment):
    """What the roles that hold or reach secrets may do with Secrets Manager."""
    iam = client("iam")
    roles = {"task_execution": f"{deployment}-task-execution", "onprem_host": f"{deployment}-onprem-host"}
    return {key: [a for a in _role_allows(iam, role) if a.startswith("secretsmanager:")] for key, role in roles.items()}


def trust_state(deployment):
    """Each role's trust policy: the service it trusts and the conditions it puts on that, by role name suffix."""
    iam = client("iam")
    out = {}
    for role in iam.list_roles()["Roles"]:
        if not role["RoleName"].startswith(f"{deployment}-"):
            continue
        document = role["AssumeRolePolicyDocument"]
        if isinstance(document, str):
            document = json.loads(urllib.parse.unquote(document))
        out[role["RoleName"][len(deployment) + 1 :]] = [
            {"service": st.get("Principal", {}).get("Service"), "condition": st.get("Condition", {})}
            for st in document.get("Statement", [])
        ]
    return out


def ingest_state(deployment):
    """The bulk ingest's path: the DataSync task's locations, the access points it and the PACS use, and what
    the on-prem hosts' role may do in the images bucket."""
    datasync, efs, iam = client("datasync"), client("efs"), client("iam")
    out = {}
    tasks = [t for t in datasync.list_tasks().get("Tasks", []) if t.get("Name") == f"{deployment}-s3-to-efs"]
    if tasks:
        task = datasync.describe_task(TaskArn=tasks[0]["TaskArn"])
        destination = datasync.describe_location_efs(LocationArn=task["DestinationLocationArn"])
        out["source_uri"] = datasync.describe_location_s3(LocationArn=task["SourceLocationArn"])["LocationUri"]
        out["destination_uri"] = destination["LocationUri"]
        out["destination_access_point"] = destination.get("AccessPointArn", "").rsplit("/", 1)[-1]
    roots = {}
    for fs in efs.describe_file_systems().get("FileSystems", []):
        for ap in efs.describe_access_points(FileSystemId=fs["FileSystemId"]).get("AccessPoints", []):
            roots[ap["AccessPointId"]] = {
                "name": tags_dict(ap.get("Tags")).get("Name", ""),
                "root": ap["RootDirectory"]["Path"],
            }
    out["access_points"] = roots
    out["onprem_host_allows"] = [a for a in _role_allows(iam, f"{deployment}-onprem-host") if a.startswith("s3:")]
    return out


def _policy_document(document):
    """IAM answers a policy document URL-encoded (moto) or parsed (boto3 on AWS): always the parsed dict."""
    return json.loads(urllib.parse.unquote(document)) if isinstance(document, str) else document


def _statements(document):
    """A policy's statements in one shape: effect, principal, actions (a list), whether it has a condition."""
    return [
        {
            "effect": st.get("Effect"),
            "principal": st.get("Principal"),
            "actions": [st["Action"]] if isinstance(st.get("Action"), str) else st.get("Action", []),
            "condition": st.get("Condition") or {},
        }
        for st in (document or {}).get("Statement", [])
    ]


def _backup_vault(backup, name):
    """A vault's key, access policy statements and recovery points; None when it does not exist."""
    vault = safe(backup.describe_backup_vault, None, BackupVaultName=name)
    if not vault:
        return None
    policy = safe(backup.get_backup_vault_access_policy, None, BackupVaultName=name)
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName=name).get("RecoveryPoints", [])
    return {
        "kms_key": vault.get("EncryptionKeyArn", ""),
        "access_policy": _statements(json.loads(policy["Policy"])) if policy else [],
        "recovery_points": sorted(p["ResourceArn"] for p in points),
        # Each recovery point's resource and tags (a backup.yml backup carries its id, pacs:backup-id).
        "points": {
            p["RecoveryPointArn"]: {
                "resource_arn": p["ResourceArn"],
                "status": p.get("Status", ""),
                "tags": backup.list_tags(ResourceArn=p["RecoveryPointArn"]).get("Tags") or {},
            }
            for p in points
        },
    }


def _backup_plans(backup, deployment):
    """The deployment's plan (by its exact name: `pacs-` must not find `pacs-a-daily`)."""
    plans = backup.list_backup_plans().get("BackupPlansList", [])
    return [p for p in plans if p["BackupPlanName"] == f"{deployment}-daily"]


def backup_state(deployment):
    """The EFS file system's backup: the vault, the daily plan's rules and selections, the role AWS Backup
    assumes (its trust and managed policies)."""
    backup, iam = client("backup"), client("iam")
    out = {"vault": _backup_vault(backup, f"{deployment}-pacs"), "plans": {}}
    for listed in _backup_plans(backup, deployment):
        plan_id = listed["BackupPlanId"]
        plan = backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]
        selections = {}
        for selection in backup.list_backup_selections(BackupPlanId=plan_id).get("BackupSelectionsList", []):
            found = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=selection["SelectionId"])
            selections[selection["SelectionName"]] = {
                "role": found["BackupSelection"]["IamRoleArn"],
                "resources": found["BackupSelection"].get("Resources", []),
            }
        out["plans"][listed["BackupPlanName"]] = {
            "rules": [
                {
                    "name": rule["RuleName"],
                    "vault": rule["TargetBackupVaultName"],
                    "schedule": rule.get("ScheduleExpression", ""),
                    "timezone": rule.get("ScheduleExpressionTimezone", ""),
                    "delete_after_days": (rule.get("Lifecycle") or {}).get("DeleteAfterDays"),
                    "cold_storage_after_days": (rule.get("Lifecycle") or {}).get("MoveToColdStorageAfterDays"),
                }
                for rule in plan.get("Rules", [])
            ],
            "selections": selections,
        }
    role = (safe(iam.get_role, {}, RoleName=f"{deployment}-backup") or {}).get("Role")
    out["role"] = (
        {
            "arn": role["Arn"],
            "trust": _statements(_policy_document(role["AssumeRolePolicyDocument"])),
            "managed": sorted(
                p["PolicyArn"]
                for p in iam.list_attached_role_policies(RoleName=role["RoleName"]).get("AttachedPolicies", [])
            ),
        }
        if role
        else {}
    )
    return out


def _container_facts(container):
    return {
        "image": container["image"],
        "health_check": (container.get("healthCheck") or {}).get("command") or [],
        "user": container.get("user", ""),
        "essential": container.get("essential", True),
        "readonly_root": container.get("readonlyRootFilesystem", False),
        "capabilities": (container.get("linuxParameters") or {}).get("capabilities") or {},
        "depends_on": container.get("dependsOn") or [],
        "working_directory": container.get("workingDirectory", ""),
        "mounts": {
            m["containerPath"]: [m["sourceVolume"], m.get("readOnly", False)]
            for m in container.get("mountPoints") or []
        },
        "entry_point": container.get("entryPoint") or [],
        "environment": {e["name"]: e["value"] for e in container.get("environment") or []},
        "secrets": {s["name"]: s["valueFrom"] for s in container.get("secrets") or []},
    }


def _image_in_ecr(image):
    """True when the image is named by a digest that its ECR repository holds."""
    if "@sha256:" not in image or ".dkr.ecr." not in image:
        return False
    name, digest = image.split("@", 1)
    repository = name.split("/", 1)[1]
    found = safe(client("ecr").describe_images, {}, repositoryName=repository, imageIds=[{"imageDigest": digest}]) or {}
    return any(d["imageDigest"] == digest for d in found.get("imageDetails", []))


def _settings_bundle(task_def):
    """The settings container's bundle, read from its secret: its SHA-256 and nginx's TLS lines."""
    settings = next((c for c in task_def["containerDefinitions"] if c["name"] == "settings"), None)
    if not settings:
        return {}
    arn = settings["secrets"][0]["valueFrom"]
    bundle = base64.b64decode(client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:gz") as archive:
        names = sorted(m.name for m in archive.getmembers())
        conf = archive.extractfile("./nginx/nginx.conf").read().decode()
    return {
        "sha256": hashlib.sha256(bundle).hexdigest(),
        "files": names,
        "nginx_tls": sorted(line.strip() for line in conf.splitlines() if line.strip().startswith("ssl_certificate")),
    }


def _topic_arn(sns, name):
    topics = [t["TopicArn"] for t in sns.list_topics().get("Topics", [])]
    return next((arn for arn in topics if arn.rsplit(":", 1)[-1] == name), "")


def _datasync_event(task_arn, state):
    """An EventBridge event of DataSync as AWS sends it when an execution of the task changes state."""
    return json.dumps(
        {
            "version": "0",
            "id": "00000000-0000-0000-0000-000000000000",
            "detail-type": "DataSync Task Execution State Change",
            "source": "aws.datasync",
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": os.environ["AWS_DEFAULT_REGION"],
            "resources": [f"{task_arn}/execution/exec-0123456789abcdef0"],
            "detail": {"State": state},
        }
    )


def alarms_state(deployment):
    """Role aws_alarms: the topic, the alarms, the DataSync rule (and which events it matches), what feeds them
    (Container Insights, the target groups' health checks) and who may use the key to publish."""
    sns, cw, events, kms = client("sns"), client("cloudwatch"), client("events"), client("kms")
    out = {"topic": {}, "alarms": {}, "rule": {}}
    arn = _topic_arn(sns, f"{deployment}-alarms")
    if arn:
        attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        statements = json.loads(attributes.get("Policy") or "{}").get("Statement", [])
        out["topic"] = {
            "arn": arn,
            "kms_key": attributes.get("KmsMasterKeyId", ""),
            "publishers": {
                str(st["Principal"].get("Service", st["Principal"].get("AWS"))): st.get("Condition", {})
                for st in statements
                if st.get("Effect") == "Allow"
                and "SNS:Publish" in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
            },
            "subscriptions": sorted(
                [s["Protocol"], s["Endpoint"]]
                for s in sns.list_subscriptions_by_topic(TopicArn=arn).get("Subscriptions", [])
            ),
            "tags": tags_dict(sns.list_tags_for_resource(ResourceArn=arn).get("Tags")),
        }
    for alarm in cw.describe_alarms(AlarmNamePrefix=f"{deployment}-alarm-").get("MetricAlarms", []):
        out["alarms"][alarm["AlarmName"]] = {
            "namespace": alarm.get("Namespace", ""),
            "metric": alarm.get("MetricName", ""),
            "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])},
            "statistic": alarm.get("Statistic", ""),
            "comparison": alarm.get("ComparisonOperator", ""),
            "threshold": alarm.get("Threshold"),
            "period": alarm.get("Period"),
            "evaluation_periods": alarm.get("EvaluationPeriods"),
            "treat_missing_data": alarm.get("TreatMissingData", ""),
            "alarm_actions": alarm.get("AlarmActions", []),
            "ok_actions": alarm.get("OKActions", []),
        }
    rule = safe(events.describe_rule, {}, Name=f"{deployment}-datasync-failed") or {}
    if rule.get("Name"):
        tasks = [
            t for t in client("datasync").list_tasks().get("Tasks", []) if t.get("Name") == f"{deployment}-s3-to-efs"
        ]
        task_arn = tasks[0]["TaskArn"] if tasks else ""
        other_task = task_arn.rsplit("/", 1)[0] + "/task-0ffffffffffffffff"

        def matches(task, state):
            event = _datasync_event(task, state)
            return events.test_event_pattern(EventPattern=rule["EventPattern"], Event=event)["Result"]

        out["rule"] = {
            "state": rule.get("State", ""),
            "targets": [t["Arn"] for t in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", [])],
            "matches": {
                "task_error": matches(task_arn, "ERROR") if task_arn else False,
                "task_success": matches(task_arn, "SUCCESS") if task_arn else False,
                "other_task_error": matches(other_task, "ERROR") if task_arn else False,
            },
        }
    clusters = client("ecs").describe_clusters(clusters=[deployment], include=["SETTINGS"]).get("clusters", [])
    settings = {s["name"]: s["value"] for c in clusters if c["status"] == "ACTIVE" for s in c.get("settings") or []}
    out["container_insights"] = settings.get("containerInsights", "")
    elb = client("elbv2")
    out["target_groups"] = {
        tg["TargetGroupName"]: {
            "arn": tg["TargetGroupArn"],
            "health_check": [tg.get("HealthCheckProtocol", ""), tg.get("HealthCheckPath", "")],
        }
        for tg in elb.describe_target_groups().get("TargetGroups", [])
        if tg["TargetGroupName"].startswith(f"{deployment}-")
    }
    key = safe(kms.describe_key, KeyId=f"alias/{deployment}-logs")
    policy = (
        json.loads(kms.get_key_policy(KeyId=key["KeyMetadata"]["KeyId"], PolicyName="default")["Policy"]) if key else {}
    )
    out["key_users"] = sorted(
        service
        for st in policy.get("Statement", [])
        if st.get("Effect") == "Allow" and "kms:GenerateDataKey*" in st.get("Action", [])
        for service in (
            [st["Principal"]["Service"]]
            if isinstance(st["Principal"].get("Service"), str)
            else st["Principal"].get("Service", [])
        )
    )
    return out


def leftovers(deployment, tag_key):
    """Everything still tagged with the deployment, or named after it."""
    left = {}
    tagging = client("resourcegroupstaggingapi")
    arns = [
        r["ResourceARN"]
        for r in tagging.get_resources(TagFilters=[{"Key": tag_key, "Values": [deployment]}]).get(
            "ResourceTagMappingList", []
        )
    ]
    kms = client("kms")
    # A key pending deletion keeps its tags until KMS deletes it for good.
    pending = []
    for arn in [a for a in arns if ":kms:" in a]:
        state = kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"]
        if state == "PendingDeletion":
            pending.append(arn)
    # moto keeps terminated instances, deleted peerings and deleted ECS services (INACTIVE) with their tags for
    # a while, as AWS does.
    ec2, ecs = client("ec2"), client("ecs")
    gone = set()
    for arn in arns:
        resource = arn.rsplit("/", 1)[-1]
        if ":instance/" in arn:
            found = ec2.describe_instances(InstanceIds=[resource])["Reservations"]
            if all(i["State"]["Name"] == "terminated" for r in found for i in r["Instances"]):
                gone.add(arn)
        elif ":vpc-peering-connection/" in arn:
            found = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[resource])["VpcPeeringConnections"]
            if all(p["Status"]["Code"] in ("deleted", "rejected", "failed", "expired") for p in found):
                gone.add(arn)
        elif ":ecs:" in arn and ":service/" in arn:
            cluster, name = arn.split(":service/", 1)[1].split("/", 1)
            found = safe(ecs.describe_services, {}, cluster=cluster, services=[name]) or {}
            if all(s.get("status") == "INACTIVE" for s in found.get("services", [])):
                gone.add(arn)
    left["tagged"] = sorted(a for a in arns if a not in pending and a not in gone)
    left["kms_keys_pending_deletion"] = len(pending)
    net = network_state(deployment, tag_key)
    left["vpcs"] = list(net["vpcs"])
    left["instances"] = list(instances_state(deployment, tag_key))
    left["buckets"] = list(buckets_state(deployment, tag_key))
    file_systems = efs_state(deployment, tag_key)
    left["file_systems"] = list(file_systems)
    left["efs_mount_targets"] = sum(fs["mount_targets"] for fs in file_systems.values())
    left["log_resource_policies"] = list(log_resource_policies_state(deployment))
    left["log_groups"] = list(log_groups_state(deployment))
    left["secrets"] = list(secrets_state(deployment))
    left["load_balancers"] = list(load_balancers_state(deployment))
    left["endpoint_services"] = endpoint_services_state(deployment, tag_key)
    ecs = ecs_state(deployment)
    left["ecs"] = ["cluster"] if ecs["cluster"] else []
    iam = client("iam")
    left["iam_roles"] = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(f"{deployment}-")]
    ecr = client("ecr")
    left["ecr_repositories"] = [
        r["repositoryName"]
        for r in ecr.describe_repositories().get("repositories", [])
        if r["repositoryName"].startswith(f"{deployment}/")
    ]
    idp = client("cognito-idp")
    left["user_pools"] = [
        p["Name"]
        for p in idp.list_user_pools(MaxResults=60).get("UserPools", [])
        if p["Name"].startswith(f"{deployment}-")
    ]
    # An alias stays with its key while the key is pending deletion (as on AWS, where KMS deletes both at the
    # window's end): only the alias of a key that is not pending deletion is left over.
    left["kms_aliases"] = [
        f"alias/{deployment}{suffix}"
        for suffix in KEY_PURPOSES.values()
        if _key_not_pending_deletion(kms, f"alias/{deployment}{suffix}")
    ]
    admin = admin_name_state(deployment)
    left["public_records"] = admin["records"]
    left["certificates"] = [c["arn"] for c in admin["certificates"]]
    backup = client("backup")
    vault = _backup_vault(backup, f"{deployment}-pacs")
    left["backup_vaults"] = (
        {
            f"{deployment}-pacs": {
                "recovery_points": len(vault["recovery_points"]),
                "access_policy": bool(vault["access_policy"]),
            }
        }
        if vault
        else {}
    )
    plans = _backup_plans(backup, deployment)
    left["backup_plans"] = [p["BackupPlanName"] for p in plans]
    left["backup_selections"] = [
        s["SelectionName"]
        for p in plans
        for s in backup.list_backup_selections(BackupPlanId=p["BackupPlanId"]).get("BackupSelectionsList", [])
    ]
    # Role aws_alarms: alarms have no tags (amazon.aws.cloudwatch_metric_alarm sets none); the rule is untagged too.
    left["alarms"] = [
        a["AlarmName"]
        for a in client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{deployment}-alarm-")["MetricAlarms"]
    ]
    left["event_rules"] = [r["Name"] for r in client("events").list_rules(NamePrefix=f"{deployment}-").get("Rules", [])]
    left["sns_topics"] = [t for t in [_topic_arn(client("sns"), f"{deployment}-alarms")] if t]
    return left


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("deployment")
    parser.add_argument("--tag-key", default="pacs:deployment")
    parser.add_argument("--leftovers", action="store_true", help="only what is left of the deployment")
    args = parser.parse_args()
    if args.leftovers:
        print(json.dumps(leftovers(args.deployment, args.tag_key), default=str))
        return
    state = {
        "kms": kms_state(args.deployment),
        "kms_keys": kms_keys_state(args.deployment),
        "buckets": buckets_state(args.deployment, args.tag_key),
        "file_systems": efs_state(args.deployment, args.tag_key),
        "log_groups": log_groups_state(args.deployment),
        "log_resource_policies": log_resource_policies_state(args.deployment),
        "user_pool": user_pool_state(args.deployment),
        "admin_name": admin_name_state(args.deployment),
        "secrets": secrets_state(args.deployment),
        "network": network_state(args.deployment, args.tag_key),
        "load_balancers": load_balancers_state(args.deployment),
        "endpoint_services": endpoint_services_state(args.deployment, args.tag_key),
        "instances": instances_state(args.deployment, args.tag_key),
        "ecs": ecs_state(args.deployment),
        "ingest": ingest_state(args.deployment),
        "secret_access": iam_state(args.deployment),
        "trust": trust_state(args.deployment),
        "ca_key": ca_key_state(args.deployment),
        # Who runs the scenario: the operator role pki names on the CA's key (moto answers its placeholder
        # identity, arn:aws:sts::<account>:user/moto, for the dummy credentials).
        "caller": client("sts").get_caller_identity()["Arn"],
        "backup": backup_state(args.deployment),
        "alarms": alarms_state(args.deployment),
    }
    print(json.dumps(state, default=str))


if __name__ == "__main__":
    main()
