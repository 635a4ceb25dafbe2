"""The inline policies role aws_identity sends to IAM, rendered from its vars as the role renders them.

molecule/aws verify reads the same policies back from moto; this test pins them without an AWS and names the
issue 21 properties they carry: the execution role reads exactly the task's secrets (never the CA's key under
<deployment>/pki/ca), the on-prem hosts read no secret at all, and may delete only the ingest requests.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.support.ansible_run import ROOT, run_playbook

INPUTS = {
    "aws_identity_deployment": "dep",
    "aws_identity_region": "eu-west-1",
    "aws_identity_account_id": "123456789012",
    "aws_identity_secrets_kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/secrets",
    "aws_identity_data_kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/data",
    "aws_identity_images_bucket": "dep-images-123456789012-eu-west-1",
    "aws_identity_ingest_requests_prefix": ".pacs-ingest/",
    "aws_identity_flow_logs_log_group": "/dep/vpc-flow-logs",
    "aws_identity_task_secret_names": ["dep/pki/pacs-edge", "dep/pki/admin-web", "dep/pacs/settings"],
}


@pytest.fixture(scope="module")
def roles(tmp_path_factory):
    folder = tmp_path_factory.mktemp("identity")
    out = folder / "roles.json"
    playbook = folder / "render.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Render aws_identity's roles",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars": INPUTS,
                    "tasks": [
                        {"ansible.builtin.include_vars": {"file": str(ROOT / "roles/aws_identity/vars/main.yml")}},
                        {
                            "ansible.builtin.copy": {
                                "content": "{{ _aws_identity_roles | to_json }}",
                                "dest": str(out),
                                "mode": "0600",
                            }
                        },
                        {
                            "ansible.builtin.copy": {
                                "content": "{{ _aws_identity_trust | to_json }}",
                                "dest": str(folder / "trust.json"),
                                "mode": "0600",
                            }
                        },
                    ],
                }
            ]
        )
    )
    run = run_playbook(str(playbook))
    assert run.returncode == 0, run.report()
    trust = json.loads((folder / "trust.json").read_text())
    return {role["key"]: {**role, "trust_policy": trust[role["trust"]]} for role in json.loads(out.read_text())}


def allows(role):
    return {
        (action, resource)
        for statement in role["policy"]["Statement"]
        if statement["Effect"] == "Allow"
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        for resource in ([statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"])
    }


def test_the_execution_role_reads_exactly_the_tasks_secrets(roles):
    arn_prefix = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
    granted = {(a, r) for a, r in allows(roles["task_execution"]) if a.startswith("secretsmanager:")}
    assert granted == {
        ("secretsmanager:GetSecretValue", arn_prefix + "dep/pki/pacs-edge-??????"),
        ("secretsmanager:GetSecretValue", arn_prefix + "dep/pki/admin-web-??????"),
        ("secretsmanager:GetSecretValue", arn_prefix + "dep/pacs/settings-??????"),
    }
    assert not any("*" in resource or "/pki/ca" in resource for _, resource in granted)


def test_the_on_prem_hosts_read_no_secret_and_delete_only_ingest_requests(roles):
    host = allows(roles["ec2"])
    assert not [a for a, _ in host if a.startswith("secretsmanager:")]
    assert {r for a, r in host if a == "s3:DeleteObject"} == {
        "arn:aws:s3:::dep-images-123456789012-eu-west-1/.pacs-ingest/*"
    }
    assert ("s3:PutObject", "arn:aws:s3:::dep-images-123456789012-eu-west-1/*") in host


def test_datasync_mounts_the_file_system_without_root_access(roles):
    # Issue 21 item 2: DataSync writes through the froms3 access point (the PACS's POSIX user), so it needs
    # no ClientRootAccess, which the file system's policy denies to everyone anyway (role aws_storage).
    granted = {a for a, _ in allows(roles["datasync"]) if a.startswith("elasticfilesystem:")}
    assert granted == {"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"}


@pytest.mark.parametrize(
    ("key", "source_arn"),
    [
        ("task_execution", "arn:aws:ecs:eu-west-1:123456789012:*"),
        ("task", "arn:aws:ecs:eu-west-1:123456789012:*"),
        ("datasync", "arn:aws:datasync:eu-west-1:123456789012:*"),
        ("flow_logs", "arn:aws:ec2:eu-west-1:123456789012:vpc-flow-log/*"),
    ],
)
def test_service_roles_trust_only_this_accounts_resources(roles, key, source_arn):
    # Issue 21 item 2: the confused deputy. (moto stores trust policies without evaluating them.)
    (statement,) = roles[key]["trust_policy"]["Statement"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": source_arn},
    }


def test_each_role_uses_only_the_key_of_its_purpose(roles):
    # Issue 21 item 2: the execution role decrypts secrets only, DataSync only reads images (no GenerateDataKey),
    # the on-prem hosts upload and read images; none reaches another purpose's key.
    def key_rights(key):
        return {(a, r.rsplit("/", 1)[-1]) for a, r in allows(roles[key]) if a.startswith("kms:")}

    assert key_rights("task_execution") == {("kms:Decrypt", "secrets")}
    assert key_rights("datasync") == {("kms:Decrypt", "data")}
    assert key_rights("ec2") == {("kms:Decrypt", "data"), ("kms:GenerateDataKey", "data")}
    assert key_rights("task") == set() and key_rights("flow_logs") == set()
