"""The lab's AWS emulator (lab_emulator: moto with the project's extensions), started on a free loopback port
(tests/unit/conftest.py's emulator_url) and spoken to with boto3 and, for the legacy EFS tag API and KMS key
deletion, with the modules that need them (community.aws.efs, amazon.aws.kms_key) through ansible-playbook."""

from __future__ import annotations

import datetime
import json
import sys

import boto3
import pytest

from tests.support.ansible_run import run_playbook
from tests.support.module_runner import FAKE_AWS_ENV
from tests.support.moto_server import reset

SUBNET = "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0a"
SECURITY_GROUP = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0a"


@pytest.fixture
def aws(emulator_url, monkeypatch):
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    reset(emulator_url)  # a clean AWS for each test
    return lambda service: boto3.client(service, endpoint_url=emulator_url, region_name="us-east-1")


def test_legacy_efs_tag_api(aws):
    efs = aws("efs")
    fs_id = efs.create_file_system(CreationToken="t", Tags=[{"Key": "Name", "Value": "pacs"}])["FileSystemId"]
    assert efs.describe_tags(FileSystemId=fs_id)["Tags"] == [{"Key": "Name", "Value": "pacs"}]
    efs.create_tags(FileSystemId=fs_id, Tags=[{"Key": "Owner", "Value": "ops"}, {"Key": "Tmp", "Value": "1"}])
    efs.delete_tags(FileSystemId=fs_id, TagKeys=["Tmp"])
    expected = {"Name": "pacs", "Owner": "ops"}
    assert {t["Key"]: t["Value"] for t in efs.describe_tags(FileSystemId=fs_id)["Tags"]} == expected
    # The same store as moto's own tag API.
    listed = efs.list_tags_for_resource(ResourceId=fs_id)["Tags"]
    assert {t["Key"]: t["Value"] for t in listed} == expected
    with pytest.raises(efs.exceptions.FileSystemNotFound):
        efs.describe_tags(FileSystemId="fs-00000000")


def test_efs_file_system_policy_is_deleted(aws):
    efs = aws("efs")
    fs_id = efs.create_file_system(CreationToken="policy")["FileSystemId"]
    document = '{"Version": "2012-10-17", "Statement": []}'
    efs.put_file_system_policy(FileSystemId=fs_id, Policy=document)
    assert efs.describe_file_system_policy(FileSystemId=fs_id)["Policy"] == document
    efs.delete_file_system_policy(FileSystemId=fs_id)
    with pytest.raises(efs.exceptions.PolicyNotFound):
        efs.describe_file_system_policy(FileSystemId=fs_id)


def test_datasync_efs_locations_tags_and_executions(aws):
    efs, datasync = aws("efs"), aws("datasync")
    fs = efs.create_file_system(CreationToken="t")
    efs_arn = datasync.create_location_efs(
        EfsFilesystemArn=fs["FileSystemArn"],
        Subdirectory="/images/froms3",
        Ec2Config={"SubnetArn": SUBNET, "SecurityGroupArns": [SECURITY_GROUP]},
        InTransitEncryption="TLS1_2",
        Tags=[{"Key": "Name", "Value": "dest"}],
    )["LocationArn"]
    described = datasync.describe_location_efs(LocationArn=efs_arn)
    assert described["LocationUri"] == f"efs://us-east-1.{fs['FileSystemId']}/images/froms3/"
    assert described["Ec2Config"] == {"SubnetArn": SUBNET, "SecurityGroupArns": [SECURITY_GROUP]}
    assert described["InTransitEncryption"] == "TLS1_2"

    s3_arn = datasync.create_location_s3(
        S3BucketArn="arn:aws:s3:::pacs-images",
        S3Config={"BucketAccessRoleArn": "arn:aws:iam::123456789012:role/r"},
        Tags=[{"Key": "Name", "Value": "src"}],
    )["LocationArn"]
    assert {entry["LocationArn"] for entry in datasync.list_locations()["Locations"]} == {efs_arn, s3_arn}
    assert datasync.list_tags_for_resource(ResourceArn=s3_arn)["Tags"] == [{"Key": "Name", "Value": "src"}]

    task = datasync.create_task(SourceLocationArn=s3_arn, DestinationLocationArn=efs_arn, Name="import")["TaskArn"]
    datasync.tag_resource(ResourceArn=task, Tags=[{"Key": "Project", "Value": "pacs"}])
    datasync.untag_resource(ResourceArn=task, Keys=["Nothing"])
    assert datasync.list_tags_for_resource(ResourceArn=task)["Tags"] == [{"Key": "Project", "Value": "pacs"}]

    execution = datasync.start_task_execution(TaskArn=task)["TaskExecutionArn"]
    listed = datasync.list_task_executions(TaskArn=task)["TaskExecutions"]
    assert listed == [{"TaskExecutionArn": execution, "Status": "INITIALIZING"}]
    assert datasync.describe_task_execution(TaskExecutionArn=execution)["BytesTransferred"] == 0

    datasync.delete_task(TaskArn=task)
    datasync.delete_location(LocationArn=efs_arn)
    assert [entry["LocationArn"] for entry in datasync.list_locations()["Locations"]] == [s3_arn]
    with pytest.raises(datasync.exceptions.InvalidRequestException):
        datasync.describe_location_efs(LocationArn=efs_arn)
    with pytest.raises(datasync.exceptions.InvalidRequestException):
        datasync.list_tags_for_resource(ResourceArn=efs_arn)


PLAYBOOK = """
- name: community.aws.efs against the extended moto
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: EFS with tags, twice
      community.aws.efs:
        name: pacs-ext-test
        encrypt: true
        tags: {Project: pacs, Run: "{{ item }}"}
        endpoint_url: "{{ moto_endpoint }}"
        region: us-east-1
      loop: [first, first, second]
      register: pacs_efs
    - name: Report
      ansible.builtin.debug:
        msg: "{{ pacs_efs.results | map(attribute='changed') | list | to_json }}"
"""


def test_load_balancers_report_every_aws_attribute(aws):
    ec2, elbv2 = aws("ec2"), aws("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{n}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for n, zone in ((1, "us-east-1a"), (2, "us-east-1b"))
    ]

    def attributes(arn):
        answer = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
        return {a["Key"]: a["Value"] for a in answer}

    alb = elbv2.create_load_balancer(Name="alb", Subnets=subnets, Type="application")["LoadBalancers"][0]
    nlb = elbv2.create_load_balancer(Name="nlb", Subnets=subnets, Type="network", Scheme="internal")["LoadBalancers"][0]
    alb_attributes, nlb_attributes = attributes(alb["LoadBalancerArn"]), attributes(nlb["LoadBalancerArn"])
    # The two moto leaves out, which amazon.aws.elb_application_lb reads.
    assert alb_attributes["access_logs.s3.enabled"] == "false"
    assert alb_attributes["idle_timeout.timeout_seconds"] == "60"
    assert alb_attributes["routing.http.drop_invalid_header_fields.enabled"] == "false"
    assert "routing.http2.enabled" not in nlb_attributes
    assert nlb_attributes["access_logs.s3.enabled"] == "false"
    # moto's own defaults stay, and a change is kept.
    assert alb_attributes["deletion_protection.enabled"] == "false"
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=alb["LoadBalancerArn"], Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "30"}]
    )
    assert attributes(alb["LoadBalancerArn"])["idle_timeout.timeout_seconds"] == "30"


def test_protected_load_balancers_and_user_pools_are_not_deleted(aws):
    ec2, elbv2, cognito = aws("ec2"), aws("elbv2"), aws("cognito-idp")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{n}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for n, zone in ((1, "us-east-1a"), (2, "us-east-1b"))
    ]
    arn = elbv2.create_load_balancer(Name="kept", Subnets=subnets, Type="network")["LoadBalancers"][0][
        "LoadBalancerArn"
    ]

    def protect(value):
        elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": value}]
        )

    protect("true")
    with pytest.raises(elbv2.exceptions.ClientError, match="OperationNotPermitted"):
        elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert len(elbv2.describe_load_balancers(Names=["kept"])["LoadBalancers"]) == 1
    protect("false")
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []

    pool = cognito.create_user_pool(PoolName="admins", DeletionProtection="ACTIVE")["UserPool"]["Id"]
    assert cognito.describe_user_pool(UserPoolId=pool)["UserPool"]["DeletionProtection"] == "ACTIVE"
    with pytest.raises(cognito.exceptions.InvalidParameterException, match="deletion protection"):
        cognito.delete_user_pool(UserPoolId=pool)
    cognito.update_user_pool(UserPoolId=pool, DeletionProtection="INACTIVE")
    cognito.delete_user_pool(UserPoolId=pool)
    assert cognito.list_user_pools(MaxResults=10)["UserPools"] == []


def test_endpoint_connections_wait_for_acceptance(aws):
    ec2, elbv2 = aws("ec2"), aws("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.6.{n}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for n, zone in ((1, "us-east-1a"), (2, "us-east-1b"))
    ]
    nlb = elbv2.create_load_balancer(Name="dimse", Subnets=subnets, Type="network", Scheme="internal")
    nlb_arn = nlb["LoadBalancers"][0]["LoadBalancerArn"]

    def service(acceptance):
        config = ec2.create_vpc_endpoint_service_configuration(
            NetworkLoadBalancerArns=[nlb_arn], AcceptanceRequired=acceptance
        )["ServiceConfiguration"]
        return config["ServiceId"], config["ServiceName"]

    def endpoint(name):
        answer = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=name, VpcEndpointType="Interface", SubnetIds=subnets)
        return answer["VpcEndpoint"]["VpcEndpointId"], answer["VpcEndpoint"]["State"]

    guarded, guarded_name = service(True)
    _, open_name = service(False)
    ours, ours_state = endpoint(guarded_name)
    theirs, _ = endpoint(guarded_name)
    assert ours_state == "pendingAcceptance"
    assert endpoint(open_name)[1] == "available"

    def connections(*filters):
        answer = ec2.describe_vpc_endpoint_connections(Filters=[{"Name": k, "Values": v} for k, v in filters])
        return {c["VpcEndpointId"]: c["VpcEndpointState"] for c in answer["VpcEndpointConnections"]}

    assert connections(("service-id", [guarded])) == {ours: "pendingAcceptance", theirs: "pendingAcceptance"}
    answer = ec2.accept_vpc_endpoint_connections(ServiceId=guarded, VpcEndpointIds=[ours, "vpce-0000000000000000a"])
    assert [u["ResourceId"] for u in answer["Unsuccessful"]] == ["vpce-0000000000000000a"]
    assert connections(("service-id", [guarded]), ("vpc-endpoint-state", ["available"])) == {ours: "available"}
    ec2.reject_vpc_endpoint_connections(ServiceId=guarded, VpcEndpointIds=[theirs])
    assert connections(("vpc-endpoint-id", [theirs])) == {theirs: "rejected"}


def test_prefix_list_rules_keep_their_description(aws):
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.4.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="task", Description="d", VpcId=vpc)["GroupId"]
    s3 = ec2.describe_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": ["com.amazonaws.us-east-1.s3"]}])
    prefix_list = s3["PrefixLists"][0]["PrefixListId"]

    def rule(description):
        return [
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "PrefixListIds": [{"PrefixListId": prefix_list, "Description": description}],
            }
        ]

    def entries():
        (found,) = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
        return [e for p in found["IpPermissionsEgress"] for e in p.get("PrefixListIds", [])]

    ec2.authorize_security_group_egress(GroupId=group, IpPermissions=rule("S3"))
    assert entries() == [{"PrefixListId": prefix_list, "Description": "S3"}]
    answer = ec2.update_security_group_rule_descriptions_egress(GroupId=group, IpPermissions=rule("S3 layers"))
    assert answer["Return"] is True
    assert entries() == [{"PrefixListId": prefix_list, "Description": "S3 layers"}]


def test_vpc_peerings_are_filtered(aws):
    ec2 = aws("ec2")
    onprem, consumer, provider = (ec2.create_vpc(CidrBlock=f"10.{n}.0.0/16")["Vpc"]["VpcId"] for n in (2, 1, 0))

    def peer(vpc, peer_vpc, name):
        tags = [{"ResourceType": "vpc-peering-connection", "Tags": [{"Key": "Name", "Value": name}]}]
        answer = ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=peer_vpc, TagSpecifications=tags)
        return answer["VpcPeeringConnection"]["VpcPeeringConnectionId"]

    to_consumer, to_provider = peer(onprem, consumer, "a"), peer(onprem, provider, "b")
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=to_provider)

    def ids(*filters):
        answer = ec2.describe_vpc_peering_connections(Filters=[{"Name": k, "Values": v} for k, v in filters])
        return sorted(p["VpcPeeringConnectionId"] for p in answer["VpcPeeringConnections"])

    # What amazon.aws.ec2_vpc_peering asks: the peering between two given VPCs, not another of the requester.
    assert ids(("requester-vpc-info.vpc-id", [onprem]), ("accepter-vpc-info.vpc-id", [provider])) == [to_provider]
    assert ids(("requester-vpc-info.vpc-id", [provider]), ("accepter-vpc-info.vpc-id", [onprem])) == []
    assert ids(("tag:Name", ["a"])) == [to_consumer]
    assert ids(("status-code", ["active"])) == [to_provider]
    assert ids(("accepter-vpc-info.cidr-block", ["10.1.0.0/16"])) == [to_consumer]
    assert ids() == sorted([to_consumer, to_provider])


def test_a_new_service_keeps_its_health_check_grace_period(aws):
    ecs = aws("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="f", containerDefinitions=[{"name": "n", "image": "i", "memory": 128}])
    created = ecs.create_service(
        cluster="c", serviceName="s", taskDefinition="f", desiredCount=1, healthCheckGracePeriodSeconds=120
    )["service"]
    assert created["healthCheckGracePeriodSeconds"] == 120
    (described,) = ecs.describe_services(cluster="c", services=["s"])["services"]
    assert described["healthCheckGracePeriodSeconds"] == 120
    ecs.create_service(cluster="c", serviceName="plain", taskDefinition="f", desiredCount=1)
    (plain,) = ecs.describe_services(cluster="c", services=["plain"])["services"]
    assert "healthCheckGracePeriodSeconds" not in plain


EFS_ARN = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0a"
BACKUP_ROLE = "arn:aws:iam::123456789012:role/pacs-backup"


def test_backup_selections_and_plan_updates(aws):
    backup = aws("backup")
    backup.create_backup_vault(BackupVaultName="pacs", EncryptionKeyArn="arn:aws:kms:us-east-1:123456789012:key/k")
    rule = {"RuleName": "daily", "TargetBackupVaultName": "pacs", "ScheduleExpression": "cron(0 3 * * ? *)"}
    plan_id = backup.create_backup_plan(BackupPlan={"BackupPlanName": "pacs", "Rules": [rule]})["BackupPlanId"]
    selection = {"SelectionName": "efs", "IamRoleArn": BACKUP_ROLE, "Resources": [EFS_ARN]}
    selection_id = backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=selection)["SelectionId"]
    with pytest.raises(backup.exceptions.AlreadyExistsException):
        backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=selection)
    listed = backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]
    assert [(s["SelectionId"], s["SelectionName"], s["IamRoleArn"]) for s in listed] == [
        (selection_id, "efs", BACKUP_ROLE)
    ]
    assert backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)["BackupSelection"] == selection

    # The plan's rules replaced, with the defaults a new rule gets.
    version = backup.get_backup_plan(BackupPlanId=plan_id)["VersionId"]
    longer = dict(rule, Lifecycle={"DeleteAfterDays": 35})
    backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan={"BackupPlanName": "pacs", "Rules": [longer]})
    plan = backup.get_backup_plan(BackupPlanId=plan_id)
    assert plan["VersionId"] != version
    assert plan["BackupPlan"]["Rules"][0]["Lifecycle"] == {"DeleteAfterDays": 35}
    assert plan["BackupPlan"]["Rules"][0]["StartWindowMinutes"] == 480

    # As AWS: the plan goes only without its selections; its name is free again once it is gone.
    with pytest.raises(backup.exceptions.InvalidRequestException, match="selections"):
        backup.delete_backup_plan(BackupPlanId=plan_id)
    backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)
    assert backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"] == []
    backup.delete_backup_plan(BackupPlanId=plan_id)
    assert backup.list_backup_plans()["BackupPlansList"] == []
    again = backup.create_backup_plan(BackupPlan={"BackupPlanName": "pacs", "Rules": [rule]})["BackupPlanId"]
    assert [p["BackupPlanId"] for p in backup.list_backup_plans()["BackupPlansList"]] == [again]


def test_backup_vault_access_policy_guards_the_recovery_points(aws):
    backup = aws("backup")
    backup.create_backup_vault(BackupVaultName="pacs", EncryptionKeyArn="arn:aws:kms:us-east-1:123456789012:key/k")
    with pytest.raises(backup.exceptions.ResourceNotFoundException):
        backup.get_backup_vault_access_policy(BackupVaultName="pacs")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": ["backup:DeleteRecoveryPoint", "backup:DeleteBackupVault"],
                "Resource": "*",
            }
        ],
    }
    backup.put_backup_vault_access_policy(BackupVaultName="pacs", Policy=json.dumps(policy))
    stored = backup.get_backup_vault_access_policy(BackupVaultName="pacs")
    assert json.loads(stored["Policy"]) == policy
    assert stored["BackupVaultArn"].endswith(":backup-vault:pacs")

    job = backup.start_backup_job(BackupVaultName="pacs", ResourceArn=EFS_ARN, IamRoleArn=BACKUP_ROLE)
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName="pacs")["RecoveryPoints"]
    assert [(p["RecoveryPointArn"], p["ResourceArn"], p["ResourceType"], p["Status"]) for p in points] == [
        (job["RecoveryPointArn"], EFS_ARN, "EFS", "COMPLETED")
    ]

    # The policy denies; without it, the vault still goes only once it is empty.
    with pytest.raises(backup.exceptions.ClientError, match="AccessDenied"):
        backup.delete_recovery_point(BackupVaultName="pacs", RecoveryPointArn=job["RecoveryPointArn"])
    with pytest.raises(backup.exceptions.ClientError, match="AccessDenied"):
        backup.delete_backup_vault(BackupVaultName="pacs")
    backup.delete_backup_vault_access_policy(BackupVaultName="pacs")
    with pytest.raises(backup.exceptions.InvalidRequestException, match="recovery points"):
        backup.delete_backup_vault(BackupVaultName="pacs")
    backup.delete_recovery_point(BackupVaultName="pacs", RecoveryPointArn=job["RecoveryPointArn"])
    assert backup.list_recovery_points_by_backup_vault(BackupVaultName="pacs")["RecoveryPoints"] == []
    backup.delete_backup_vault(BackupVaultName="pacs")
    assert backup.list_backup_vaults()["BackupVaultList"] == []
    # As AWS: a vault that does not exist is "access denied", not "not found".
    with pytest.raises(backup.exceptions.ClientError, match="AccessDenied"):
        backup.describe_backup_vault(BackupVaultName="pacs")
    with pytest.raises(backup.exceptions.ClientError, match="AccessDenied"):
        backup.list_recovery_points_by_backup_vault(BackupVaultName="pacs")


def test_backup_jobs_and_restores_of_an_efs_recovery_point(aws):
    backup, efs = aws("backup"), aws("efs")
    key = "arn:aws:kms:us-east-1:123456789012:key/data"
    backup.create_backup_vault(BackupVaultName="pacs", EncryptionKeyArn=key)
    source = efs.create_file_system(CreationToken="pacs", Encrypted=True, KmsKeyId=key, PerformanceMode="maxIO")
    fs_arn = source["FileSystemArn"]

    job = backup.start_backup_job(
        BackupVaultName="pacs", ResourceArn=fs_arn, IamRoleArn=BACKUP_ROLE, IdempotencyToken="b1",
        RecoveryPointTags={"pacs:backup-id": "20261206T031500Z"},
    )  # fmt: skip
    again = backup.start_backup_job(
        BackupVaultName="pacs", ResourceArn=fs_arn, IamRoleArn=BACKUP_ROLE, IdempotencyToken="b1"
    )
    assert again["BackupJobId"] == job["BackupJobId"]
    described = backup.describe_backup_job(BackupJobId=job["BackupJobId"])
    assert (described["State"], described["RecoveryPointArn"], described["ResourceArn"]) == (
        "COMPLETED", job["RecoveryPointArn"], fs_arn,
    )  # fmt: skip
    point = job["RecoveryPointArn"]
    assert backup.list_tags(ResourceArn=point)["Tags"] == {"pacs:backup-id": "20261206T031500Z"}
    assert backup.describe_recovery_point(BackupVaultName="pacs", RecoveryPointArn=point)["ResourceType"] == "EFS"
    metadata = backup.get_recovery_point_restore_metadata(BackupVaultName="pacs", RecoveryPointArn=point)
    assert metadata["RestoreMetadata"] == {
        "file-system-id": source["FileSystemId"], "newFileSystem": "true", "Encrypted": "true", "KmsKeyId": key,
        "PerformanceMode": "maxIO", "CreationToken": "pacs",
    }  # fmt: skip

    restore = {
        "RecoveryPointArn": point,
        "IamRoleArn": BACKUP_ROLE,
        "ResourceType": "EFS",
        "Metadata": {"file-system-id": source["FileSystemId"], "newFileSystem": "true", "Encrypted": "true",
                     "KmsKeyId": key, "PerformanceMode": "maxIO", "CreationToken": "pacs-r1"},
    }  # fmt: skip
    restore_id = backup.start_restore_job(IdempotencyToken="r1", **restore)["RestoreJobId"]
    assert backup.start_restore_job(IdempotencyToken="r1", **restore)["RestoreJobId"] == restore_id
    done = backup.describe_restore_job(RestoreJobId=restore_id)
    assert (done["Status"], done["RecoveryPointArn"], done["SourceResourceArn"]) == ("COMPLETED", point, fs_arn)
    (made,) = efs.describe_file_systems(CreationToken="pacs-r1")["FileSystems"]
    assert done["CreatedResourceArn"] == made["FileSystemArn"] != fs_arn
    assert (made["Encrypted"], made["KmsKeyId"], made["PerformanceMode"]) == (True, key, "maxIO")

    # The creation token is taken now: a second restore with it fails, as does an in-place restore.
    failed = backup.start_restore_job(IdempotencyToken="r2", **restore)["RestoreJobId"]
    assert backup.describe_restore_job(RestoreJobId=failed)["Status"] == "FAILED"
    in_place = dict(restore, Metadata=dict(restore["Metadata"], newFileSystem="false", CreationToken="pacs-r3"))
    refused = backup.describe_restore_job(RestoreJobId=backup.start_restore_job(**in_place)["RestoreJobId"])
    assert refused["Status"] == "FAILED" and "new file system" in refused["StatusMessage"]
    assert len(efs.describe_file_systems()["FileSystems"]) == 2
    with pytest.raises(backup.exceptions.ResourceNotFoundException):
        backup.describe_restore_job(RestoreJobId="nope")
    with pytest.raises(backup.exceptions.ResourceNotFoundException):
        backup.describe_backup_job(BackupJobId="nope")


def test_community_aws_efs_is_idempotent_with_tags(aws, emulator_url, tmp_path):
    playbook = tmp_path / "efs.yml"
    playbook.write_text(PLAYBOOK)
    run = run_playbook(
        str(playbook),
        "-e",
        f"moto_endpoint={emulator_url}",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        "-e",
        "ansible_timeout=600",  # as the inventories' localhost (inventories/lab/hosts.yml)
        inventory="localhost,",
        timeout=600,
    )
    assert run.returncode == 0, run.report()
    changed = json.loads(run.output.split('"msg": "', 1)[1].split('"\n', 1)[0].replace('\\"', '"'))
    assert changed == [True, False, True]
    tags = aws("efs").describe_file_systems()["FileSystems"][0]["Tags"]
    # The module purges tags it was not given; it keeps its Name in the file system's Name field.
    assert {t["Key"]: t["Value"] for t in tags} == {"Project": "pacs", "Run": "second"}


def test_eventbridge_tests_an_event_pattern(aws):
    events = aws("events")
    task = "arn:aws:datasync:us-east-1:123456789012:task/task-0123456789abcdef0"
    pattern = json.dumps(
        {
            "source": ["aws.datasync"],
            "detail-type": ["DataSync Task Execution State Change"],
            "resources": [{"prefix": f"{task}/execution/"}],
            "detail": {"State": ["ERROR"]},
        }
    )

    def event(state, resource=f"{task}/execution/exec-0123456789abcdef0"):
        return json.dumps(
            {
                "id": "1",
                "source": "aws.datasync",
                "detail-type": "DataSync Task Execution State Change",
                "account": "123456789012",
                "region": "us-east-1",
                "time": "2026-01-01T00:00:00Z",
                "resources": [resource],
                "detail": {"State": state},
            }
        )

    assert events.test_event_pattern(EventPattern=pattern, Event=event("ERROR"))["Result"] is True
    assert events.test_event_pattern(EventPattern=pattern, Event=event("SUCCESS"))["Result"] is False
    other = event("ERROR", resource=task.replace("0123456789abcdef0", "fedcba9876543210f") + "/execution/exec-1")
    assert events.test_event_pattern(EventPattern=pattern, Event=other)["Result"] is False


def test_network_load_balancer_security_groups_follow_aws_rules(aws):
    ec2, elbv2 = aws("ec2"), aws("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="nlb", Description="nlb", VpcId=vpc)["GroupId"]
    with_group = elbv2.create_load_balancer(Name="with", Subnets=[subnet], Type="network", SecurityGroups=[group])
    arn = with_group["LoadBalancers"][0]["LoadBalancerArn"]
    assert (
        elbv2.describe_load_balancers(Names=["with"])["LoadBalancers"][0][
            "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"
        ]
        == "on"
    )
    answer = elbv2.set_security_groups(
        LoadBalancerArn=arn, SecurityGroups=[group], EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic="off"
    )
    assert answer["SecurityGroupIds"] == [group]
    assert answer["EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"] == "off"
    assert (
        elbv2.describe_load_balancers(Names=["with"])["LoadBalancers"][0][
            "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"
        ]
        == "off"
    )
    with pytest.raises(elbv2.exceptions.ClientError, match="ValidationError"):
        elbv2.set_security_groups(LoadBalancerArn=arn, SecurityGroups=[])
    without = elbv2.create_load_balancer(Name="without", Subnets=[subnet], Type="network")
    with pytest.raises(elbv2.exceptions.ClientError, match="created without"):
        elbv2.set_security_groups(
            LoadBalancerArn=without["LoadBalancers"][0]["LoadBalancerArn"], SecurityGroups=[group]
        )


def test_kms_key_deletion_of_a_key_named_by_its_arn(aws):
    kms = aws("kms")
    key = kms.create_key(Description="deployment key")["KeyMetadata"]
    kms.create_alias(AliasName="alias/unit-kms", TargetKeyId=key["KeyId"])
    # moto 5.2.5 answered HTTP 500 here: amazon.aws.kms_key names the key by its ARN.
    answer = kms.schedule_key_deletion(KeyId=key["Arn"], PendingWindowInDays=7)
    assert (answer["KeyId"], answer["KeyState"], answer["PendingWindowInDays"]) == (key["Arn"], "PendingDeletion", 7)
    days = (answer["DeletionDate"] - datetime.datetime.now(datetime.UTC)).total_seconds() / 86400
    assert 6.9 < days <= 7
    # The alias stays with the key until KMS deletes both, as on AWS.
    described = kms.describe_key(KeyId="alias/unit-kms")["KeyMetadata"]
    assert (described["KeyId"], described["KeyState"], described["Enabled"]) == (key["KeyId"], "PendingDeletion", False)
    # AWS refuses to schedule a key twice (moto started the window again) and a window outside 7 to 30 days.
    with pytest.raises(kms.exceptions.KMSInvalidStateException, match="is pending deletion"):
        kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=30)
    other = kms.create_key()["KeyMetadata"]
    for window in (6, 31):
        with pytest.raises(kms.exceptions.ClientError, match="ValidationException"):
            kms.schedule_key_deletion(KeyId=other["Arn"], PendingWindowInDays=window)
    assert kms.describe_key(KeyId=other["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    # Taking the key back (amazon.aws.kms_key state present): cancelled, Disabled, then enabled, by its ARN.
    with pytest.raises(kms.exceptions.KMSInvalidStateException, match="is not pending deletion"):
        kms.cancel_key_deletion(KeyId=other["Arn"])
    assert kms.cancel_key_deletion(KeyId=key["Arn"])["KeyId"] == key["Arn"]
    assert kms.describe_key(KeyId=key["Arn"])["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=key["Arn"])
    assert kms.describe_key(KeyId="alias/unit-kms")["KeyMetadata"]["KeyState"] == "Enabled"
    kms.disable_key(KeyId=key["Arn"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.schedule_key_deletion(KeyId=key["Arn"].replace(key["KeyId"], "00000000-0000-0000-0000-000000000000"))


KMS_PLAYBOOK = """
- name: amazon.aws.kms_key against the lab's emulator, as roles kms_key and aws_teardown use it
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/amazon.aws.aws:
      endpoint_url: "{{ moto_endpoint }}"
      region: us-east-1
  tasks:
    - name: The key
      amazon.aws.kms_key:
        alias: alias/unit-teardown
        tags: {"pacs:deployment": unit-teardown}
        state: "{{ key_state }}"
        pending_window: "{{ 7 if key_state == 'absent' else omit }}"
      register: pacs_key
    - name: Report
      ansible.builtin.debug:
        msg: "{{ {'changed': pacs_key.changed, 'state': pacs_key.key_state | default('')} | to_json }}"
"""


def test_amazon_aws_kms_key_schedules_deletion_and_takes_the_key_back(aws, emulator_url, tmp_path):
    playbook = tmp_path / "kms.yml"
    playbook.write_text(KMS_PLAYBOOK)

    def kms_key(state, *options):
        run = run_playbook(
            str(playbook),
            "-e",
            f"moto_endpoint={emulator_url}",
            "-e",
            f"key_state={state}",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            *options,
            inventory="localhost,",
            timeout=600,
        )
        assert run.returncode == 0, run.report()
        return json.loads(run.output.split('"msg": "', 1)[1].split('"\n', 1)[0].replace('\\"', '"'))

    kms = aws("kms")
    assert kms_key("present")["changed"] is True
    key = kms.describe_key(KeyId="alias/unit-teardown")["KeyMetadata"]
    # The teardown's task: check mode changes nothing, the run schedules the deletion, a rerun finds it scheduled.
    assert kms_key("absent", "--check") == {"changed": True, "state": "Enabled"}
    assert kms.describe_key(KeyId=key["Arn"])["KeyMetadata"]["KeyState"] == "Enabled"
    assert kms_key("absent") == {"changed": True, "state": "PendingDeletion"}
    assert kms_key("absent") == {"changed": False, "state": "PendingDeletion"}
    pending = kms.describe_key(KeyId="alias/unit-teardown")["KeyMetadata"]
    days = (pending["DeletionDate"] - datetime.datetime.now(datetime.UTC)).total_seconds() / 86400
    assert (pending["KeyId"], pending["KeyState"]) == (key["KeyId"], "PendingDeletion")
    assert 6.9 < days <= 7
    # Role kms_key on a deployment made again within the window: the same key, back and enabled.
    assert kms_key("present") == {"changed": True, "state": "Enabled"}
    assert kms_key("present") == {"changed": False, "state": "Enabled"}
    assert kms.describe_key(KeyId="alias/unit-teardown")["KeyMetadata"]["KeyId"] == key["KeyId"]
