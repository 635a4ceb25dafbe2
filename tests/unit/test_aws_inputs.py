"""Bad inputs in the aws inventory stop playbooks/stages/aws.yml before any AWS call, with a message naming the
variable.

The endpoint is a closed loopback port: had any AWS call been made, the run would fail with a connection
error in another task instead of in the checks of the first play.
"""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from tests.support.ansible_run import ROOT, run_playbook

# The inventory's own layout, so that only the one broken value differs.
SAMPLE_VPCS = yaml.safe_load((ROOT / "inventories/aws/group_vars/all/aws_topology.yml").read_text())["pacs_aws_vpcs"]
# The shipped DICOM peers (their templates are resolved by Ansible): one bad peer is added to them.
SHIPPED_PEERS = yaml.safe_load((ROOT / "group_vars/all/peers.yml").read_text())["pacs_peers"]

# name: (inventory values, the variable the message must name, words of the rule it must state)
CASES = {
    "overlapping CIDRs": (
        {"pacs_aws_vpcs": {**SAMPLE_VPCS, "consumer": {**SAMPLE_VPCS["consumer"], "cidr": "10.0.128.0/17"}}},
        "aws_network_vpcs.consumer.cidr",
        ["overlaps"],
    ),
    "subnet outside its VPC": (
        {
            "pacs_aws_vpcs": {
                **SAMPLE_VPCS,
                "provider": {**SAMPLE_VPCS["provider"], "public_subnets": ["10.9.2.0/24", "10.0.3.0/24"]},
            }
        },
        "aws_network_vpcs.provider.public_subnets[0]",
        ["not inside aws_network_vpcs.provider.cidr"],
    ),
    "NAT gateways in the provider": (
        {"pacs_aws_vpcs": {**SAMPLE_VPCS, "provider": {**SAMPLE_VPCS["provider"], "nat_gateways": True}}},
        "aws_network_vpcs.provider.nat_gateways",
        ["must be false", "nothing in it may reach the internet"],
    ),
    "one availability zone": (
        {"pacs_aws_availability_zones": ["eu-west-1a"]},
        "aws_network_availability_zones",
        ["two different zones"],
    ),
    "admin networks not named": (
        {"pacs_aws_admin_allowed_cidrs": []},
        "aws_network_admin_allowed_cidrs",
        ["is empty", "pacs_aws_admin_allowed_cidrs", "none are let in by default"],
    ),
    "admin CIDR not a network": (
        {"pacs_aws_admin_allowed_cidrs": ["10.0.0.0/33"]},
        "aws_network_admin_allowed_cidrs",
        ["CIDR notation"],
    ),
    "AE title over 16 characters": (
        {"pacs_aet": "FAR-TOO-LONG-AE-TITLE"},
        "dicom_client_pacs_aet",
        ["1-16 characters"],
    ),
    "AE title with a backslash": (
        {"pacs_aet": "BAD\\AE"},
        "dicom_client_pacs_aet",
        ["1-16 characters", "letters, digits"],
    ),
    "port out of range": ({"pacs_port_storage_tls": 70000}, "aws_network ports", ["between 1 and 65535"]),
    # The message names the bad value itself (once a regex backreference that came out as a literal \1).
    "images bucket not a bucket name": (
        {"pacs_aws_images_bucket": "Bad_Images"},
        "aws_network_images_bucket",
        ["('Bad_Images') is not a valid S3 bucket name"],
    ),
    "log bucket not a bucket name": (
        {"pacs_aws_log_bucket": "Bad_Logs"},
        "aws_storage_log_bucket",
        ["'Bad_Logs' is not a valid S3 bucket name"],
    ),
    "async timeout too short": ({"aws_network_async_timeout": 5}, "aws_network_async_timeout", ["at least 60 seconds"]),
    "no store association": (
        {"dicom_client_store_associations": 0},
        "dicom_client_store_associations",
        ["number of associations 1-8"],
    ),
    "storage node port 0": (
        {"pacs_storage_node_tls_port": 0},
        "aws_network_port_storage_node_tls",
        ["between 1 and 65535"],
    ),
    "one port for two services": ({"pacs_port_query_tls": 16666}, "aws_compute ports", ["must all differ"]),
    "the web port on a DIMSE port": ({"pacs_port_web": 6666}, "pacs_task_ports", ["must all differ"]),
    "missing domain": ({"pacs_private_domain": ""}, "aws_edge_private_domain", []),
    "bad deployment name": ({"pacs_deployment": "Bad_Name"}, "aws_network_deployment", ["lower-case"]),
    "unknown engine": ({"pacs_engine": "dcm4chee"}, "pacs_engine", ["one of dicoogle, orthanc"]),
    "admin name not a DNS name": (
        {"pacs_aws_admin_public_name": "not a name"},
        "aws_identity_cognito_callback_urls",
        ["DNS name", "pacs_aws_admin_public_name"],
    ),
    "admin name outside the public zone": (
        {"pacs_aws_admin_public_name": "pacs-admin.example.org", "pacs_aws_public_zone": "example.com"},
        "aws_edge_admin_public_name",
        ["must be a name in aws_edge_public_zone", "pacs_aws_admin_public_name"],
    ),
    "public zone not a DNS name": (
        {"pacs_aws_public_zone": "not a zone"},
        "aws_edge_public_zone",
        ["public DNS zone", "pacs_aws_public_zone"],
    ),
    "Cognito prefix with 'aws'": (
        {"pacs_aws_cognito_domain_prefix": "my-aws-login"},
        "aws_identity_cognito_domain_prefix",
        ["without 'aws' or 'cognito'"],
    ),
    "admin session longer than 8 hours": (
        {"aws_edge_cognito_session_timeout": 36000},
        "aws_edge_cognito_session_timeout",
        ["300 to 28800 seconds", "at most 8 hours"],
    ),
    "admin passwords shorter than 12": (
        {"aws_identity_cognito_password_minimum_length": 8},
        "aws_identity_cognito_password_minimum_length",
        ["12 to 99"],
    ),
    "temporary passwords valid for ever": (
        {"aws_identity_cognito_temporary_password_days": 0},
        "aws_identity_cognito_temporary_password_days",
        ["1 to 365"],
    ),
    "log retention days out of range": (
        {"aws_storage_log_retention_days": 0},
        "aws_storage_log_retention_days",
        ["whole number of days from 1 to 36500"],
    ),
    "log lock days out of range": (
        {"aws_storage_log_lock_days": 40000},
        "aws_storage_log_lock_days",
        ["whole number of days from 1 to 36500"],
    ),
    "log lock outlasting the log retention": (
        {"aws_storage_log_lock_days": 400, "aws_storage_log_retention_days": 365},
        "aws_storage_log_lock_days",
        ["must not exceed aws_storage_log_retention_days"],
    ),
    "images lifecycle days out of range": (
        {"aws_storage_images_expiration_days": 0},
        "aws_storage_images_expiration_days",
        ["whole number of days from 1 to 3650"],
    ),
    "noncurrent version days not a number": (
        {"aws_storage_images_noncurrent_expiration_days": "soon"},
        "aws_storage_images_noncurrent_expiration_days",
        ["whole number of days"],
    ),
    "multipart abort days out of range": (
        {"aws_storage_abort_multipart_days": 5000},
        "aws_storage_abort_multipart_days",
        ["whole number of days from 1 to 3650"],
    ),
    "SSM transfers through the log bucket": (
        {"pacs_aws_ssm_bucket": "{{ pacs_aws_log_bucket }}"},
        "aws_storage_ssm_bucket",
        ["must all differ", "own bucket"],
    ),
    "backup retention of 0 days": (
        {"pacs_aws_backup_retention_days": 0},
        "aws_backup_retention_days",
        ["1 to 36500 days"],
    ),
    "backup retention over 100 years": (
        {"pacs_aws_backup_retention_days": 36501},
        "aws_backup_retention_days",
        ["1 to 36500 days"],
    ),
    "backup schedule not daily": (
        {"pacs_aws_backup_schedule": "cron(0 3 ? * MON *)"},
        "aws_backup_schedule",
        ["daily AWS Backup cron expression"],
    ),
    "backup schedule not a cron": (
        {"pacs_aws_backup_schedule": "rate(1 day)"},
        "aws_backup_schedule",
        ["daily AWS Backup cron expression"],
    ),
    "backup retention shorter than cold storage plus 90 days": (
        {"aws_backup_cold_storage_after_days": 30, "pacs_aws_backup_retention_days": 100},
        "aws_backup_retention_days",
        ["aws_backup_cold_storage_after_days + 90"],
    ),
    "certificate validity shorter than the renewal window": (
        {"pki_leaf_validity_days": 20},
        "pki_renew_before_days",
        ["must be shorter than pki_leaf_validity_days"],
    ),
    "alarm period not a CloudWatch period": (
        {"pacs_aws_alarm_period": 45},
        "aws_alarms_period",
        ["10, 30 or a multiple of 60"],
    ),
    "alarm evaluations longer than a day": (
        {"pacs_aws_alarm_period": 3600, "pacs_aws_alarm_evaluation_periods": 25},
        "aws_alarms_evaluation_periods",
        ["at most 86400 seconds"],
    ),
    "no alarm evaluation": ({"pacs_aws_alarm_evaluation_periods": 0}, "aws_alarms_evaluation_periods", ["at least 1"]),
    "5xx alarm threshold 0": ({"pacs_aws_alarm_5xx_threshold": 0}, "aws_alarms_5xx_threshold", ["1 or more"]),
    "alarm e-mail not an address": (
        {"pacs_aws_alarm_emails": ["ops@example.com", "ops at example.com"]},
        "aws_alarms_email_endpoints",
        ["not e-mail addresses", "ops at example.com"],
    ),
    "leaf outliving its CA": (
        {"pki_leaf_validity_days": 4000, "pki_ca_validity_days": 3650},
        "pki_leaf_validity_days",
        ["must not exceed pki_ca_validity_days"],
    ),
    **{
        f"DICOM peer: {name}": ({"pacs_peers": [*SHIPPED_PEERS, peer]}, where, words)
        for name, (peer, where, words) in {
            "duplicate AE title": (
                {"name": "m1", "ae_title": "DCMTK-CLIENT", "roles": ["store-scu"]},
                "pacs_peers[m1].ae_title",
                ["repeats the AE title of peer dicom-client"],
            ),
            "AE title over 16 characters": (
                {"name": "m1", "ae_title": "M" * 17, "roles": ["store-scu"]},
                "pacs_peers[m1].ae_title",
                ["1-16 characters"],
            ),
            "AE title with a backslash": (
                {"name": "m1", "ae_title": "M\\1", "roles": ["store-scu"]},
                "pacs_peers[m1].ae_title",
                ["backslash"],
            ),
            "destination without host": (
                {"name": "m1", "ae_title": "M1", "roles": ["move-destination"], "port": 104, "forward_port": 17790},
                "pacs_peers[m1].host",
                ["required for a move-destination"],
            ),
            "destination without port": (
                {
                    "name": "m1",
                    "ae_title": "M1",
                    "roles": ["move-destination"],
                    "host": "m1.example.org",
                    "forward_port": 17790,
                },
                "pacs_peers[m1].port",
                ["required for a move-destination"],
            ),
            "name not a DNS label": (
                {"name": "M_1", "ae_title": "M1", "roles": ["store-scu"]},
                "pacs_peers[M_1].name",
                ["must be a DNS label"],
            ),
            "two peers with the same identity": (
                {"name": "m1", "ae_title": "M1", "roles": ["store-scu"], "identity": "dicom-client"},
                "pacs_peers[m1].identity",
                ["also the identity of peer dicom-client"],
            ),
        }.items()
    },
}


def run_aws_playbook(extra_vars, tmp_path):
    extra = tmp_path / "inputs.json"
    extra.write_text(
        json.dumps(
            {
                # The one value the sample inventory leaves to the operator (none by default).
                "pacs_aws_admin_allowed_cidrs": ["203.0.113.0/24"],
                **extra_vars,
                "pacs_aws_endpoint_url": "http://127.0.0.1:9",
                "pacs_aws_access_key": "testing",
                "pacs_aws_secret_key": "testing",
                "ansible_python_interpreter": sys.executable,
            }
        )
    )
    return run_playbook("playbooks/stages/aws.yml", "-e", f"@{extra}", inventory="inventories/aws", timeout=600)


def test_the_sample_inventory_passes_every_check(tmp_path):
    # The control case: unchanged, the run gets past every check to its first AWS call (the KMS key),
    # which fails on the closed port. The refusals below are therefore the checks', not the setup's.
    run = run_aws_playbook({}, tmp_path)
    assert run.returncode != 0
    assert "Could not connect to the endpoint URL" in run.output, run.report()
    assert "PLAY [Ensure the deployment's KMS key, private CA and TLS certificates]" in run.output, run.report()


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_fails_before_any_aws_call(name, tmp_path):
    extra_vars, variable, rule_words = CASES[name]
    run = run_aws_playbook(extra_vars, tmp_path)
    assert run.returncode != 0, run.report()
    failed = run.report()
    assert variable in failed, failed
    for words in rule_words:
        assert words in failed, failed
    # Stopped in the first play's checks: no task of the later plays ran.
    assert "PLAY [Check the AWS variables before any AWS call]" in run.output
    assert "PLAY [Provision the AWS side of the deployment]" not in run.output, failed
    assert "Create or update the symmetric KMS key" not in run.output, failed


# playbooks/teardown.yml: refused before any AWS call (the first task looks the account up).
TEARDOWN_CASES = {
    "confirm missing on teardown": ({}, "confirm", ["-e confirm=mol-bad", "not set"]),
    "confirm names another deployment": ({"confirm": "mol-other"}, "confirm", ["-e confirm=mol-bad", "'mol-other'"]),
    "keys deleted but data kept": (
        {"confirm": "mol-bad", "aws_teardown_keys_and_secrets": True},
        "aws_teardown_keys_and_secrets",
        ["needs aws_teardown_delete_data=true"],
    ),
}


@pytest.mark.parametrize("name", list(TEARDOWN_CASES))
def test_bad_teardown_input_fails_before_any_aws_call(name, tmp_path):
    extra_vars, variable, rule_words = TEARDOWN_CASES[name]
    extra = tmp_path / "inputs.json"
    extra.write_text(
        json.dumps(
            {
                "pacs_deployment": "mol-bad",
                **extra_vars,
                "pacs_aws_endpoint_url": "http://127.0.0.1:9",
                "pacs_aws_access_key": "testing",
                "pacs_aws_secret_key": "testing",
                "ansible_python_interpreter": sys.executable,
            }
        )
    )
    run = run_playbook("playbooks/teardown.yml", "-e", f"@{extra}", inventory="inventories/aws", timeout=600)
    assert run.returncode != 0, run.report()
    failed = run.report()
    assert variable in failed, failed
    for words in rule_words:
        assert words in failed, failed
    # No AWS call: the account lookup, the teardown's first one, never ran. (The aws_ec2 inventory plugin may
    # warn that it cannot reach EC2 when credentials are in the environment; that is not the playbook's call.)
    assert "TASK [Look up the account]" not in run.output, failed
    assert "TASK [aws_teardown : Find the deployment's VPCs" not in run.output, failed


def test_peers_playbook_refuses_a_bad_list_before_any_change(tmp_path):
    # playbooks/peers.yml with the lab inventory and a closed AWS endpoint: the list is checked in its
    # first play, before the record is read, any certificate issued or anything else touched.
    extra = tmp_path / "peers.json"
    peer = {"name": "m1", "ae_title": "DCMTK-CLIENT", "roles": ["store-scu"]}
    extra.write_text(
        json.dumps(
            {
                "pacs_peers": [*SHIPPED_PEERS, peer],
                "pacs_aws_endpoint_url": "http://127.0.0.1:9",
                "ansible_python_interpreter": sys.executable,
            }
        )
    )
    run = run_playbook("playbooks/peers.yml", "-e", f"@{extra}", timeout=600)
    assert run.returncode != 0, run.report()
    failed = run.report()
    assert "pacs_peers[m1].ae_title" in failed and "repeats the AE title of peer dicom-client" in failed, failed
    assert "PLAY [Check and plan the DICOM peers]" not in run.output, failed
    assert "Could not connect to the endpoint URL" not in run.output, failed
