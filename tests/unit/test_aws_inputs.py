"""Bad inputs in the aws inventory stop playbooks/aws.yml before any AWS call, with a message naming the variable.

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
    "Cognito prefix with 'aws'": (
        {"pacs_aws_cognito_domain_prefix": "my-aws-login"},
        "aws_identity_cognito_domain_prefix",
        ["without 'aws' or 'cognito'"],
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
    return run_playbook("playbooks/aws.yml", "-e", f"@{extra}", inventory="inventories/aws", timeout=600)


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
