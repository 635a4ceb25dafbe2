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

CASES = {
    "overlapping CIDRs": (
        {"pacs_aws_vpcs": {**SAMPLE_VPCS, "consumer": {**SAMPLE_VPCS["consumer"], "cidr": "10.0.128.0/17"}}},
        "aws_network_vpcs.consumer.cidr",
    ),
    "invalid AE title": ({"pacs_aet": "FAR-TOO-LONG-AE-TITLE"}, "dicom_client_pacs_aet"),
    "invalid port": ({"pacs_port_storage_tls": 70000}, "aws_network ports"),
    "missing domain": ({"pacs_private_domain": ""}, "aws_edge_private_domain"),
    "bad deployment name": ({"pacs_deployment": "Bad_Name"}, "aws_network_deployment"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_fails_before_any_aws_call(name, tmp_path):
    extra_vars, variable = CASES[name]
    extra = tmp_path / "bad.json"
    extra.write_text(
        json.dumps(
            {
                **extra_vars,
                "pacs_aws_endpoint_url": "http://127.0.0.1:9",
                "pacs_aws_access_key": "testing",
                "pacs_aws_secret_key": "testing",
                "ansible_python_interpreter": sys.executable,
            }
        )
    )
    run = run_playbook("playbooks/aws.yml", "-e", f"@{extra}", inventory="inventories/aws", timeout=600)
    assert run.returncode != 0, run.report()
    failed = run.report()
    assert variable in failed, failed
    # Stopped in the first play's checks: no task of the later plays ran.
    assert "PLAY [Check the AWS variables before any AWS call]" in run.output
    assert "PLAY [Provision the AWS side of the deployment]" not in run.output, failed
    assert "Create or update the symmetric KMS key" not in run.output, failed
