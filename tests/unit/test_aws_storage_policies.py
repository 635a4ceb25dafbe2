"""What role aws_storage sends to S3 that moto cannot honour, rendered from its vars and defaults as the role
renders them (issue 21 items 10 and 15).

moto 5.2.5 denies every request a bucket-policy statement with a Condition applies to (TOOLING_FACTS 2.4), so
the molecule/aws rehearsal replaces the images bucket's policy and drops the log bucket's TLS-only statement
(molecule/aws/host_vars/localhost/moto.yml). These tests pin the real policies, and the hosts' role's rights on
the SSM transfer bucket (none: the aws_ssm connection presigns each transfer with the controller's credentials).
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.support.ansible_run import ROOT, run_playbook

BUCKET = "dep-images-123456789012-eu-west-1"
LOGS = "dep-logs-123456789012-eu-west-1"
SSM = "dep-ssm-123456789012-eu-west-1"
ACCESS_LOGS = "dep-access-logs-123456789012-eu-west-1"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/k"
ENDPOINT = "vpce-0123456789abcdef0"
DATASYNC = "arn:aws:iam::123456789012:role/dep-datasync"
INPUTS = {
    "aws_storage_deployment": "dep",
    "aws_storage_region": "eu-west-1",
    "aws_storage_account_id": "123456789012",
    "aws_storage_kms_key_arn": KEY,
    "aws_storage_images_bucket": BUCKET,
    "aws_storage_log_bucket": LOGS,
    "aws_storage_ssm_bucket": SSM,
    "aws_storage_access_log_bucket": ACCESS_LOGS,
    "aws_storage_onprem_s3_endpoint_id": ENDPOINT,
    "aws_storage_datasync_role_arn": DATASYNC,
}


@pytest.fixture(scope="module")
def policies(tmp_path_factory):
    folder = tmp_path_factory.mktemp("storage")
    out = folder / "policies.json"
    playbook = folder / "render.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Render aws_storage's bucket policies",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        # The role's own precedence: defaults under vars/main.yml, both under the inputs (extra
                        # vars here, as group_vars would be for the role).
                        {"ansible.builtin.include_vars": {"file": str(ROOT / "roles/aws_storage/defaults/main.yml")}},
                        {"ansible.builtin.include_vars": {"file": str(ROOT / "roles/aws_storage/vars/main.yml")}},
                        {
                            "ansible.builtin.include_vars": {
                                "file": str(ROOT / "roles/aws_storage/vars/elb_log_delivery.yml")
                            }
                        },
                        {
                            "ansible.builtin.copy": {
                                "content": "{{ {'images': aws_storage_images_bucket_policy,"
                                " 'logs': aws_storage_log_bucket_policy,"
                                " 'access_logs': aws_storage_access_log_bucket_policy} | to_json }}",
                                "dest": str(out),
                                "mode": "0600",
                            }
                        },
                    ],
                }
            ]
        )
    )
    inputs = folder / "inputs.json"
    inputs.write_text(json.dumps(INPUTS))
    run = run_playbook(str(playbook), "-e", f"@{inputs}")
    assert run.returncode == 0, run.report()
    return json.loads(out.read_text())


def statement(policy, sid):
    found = [st for st in policy["Statement"] if st.get("Sid") == sid]
    assert len(found) == 1, policy
    return found[0]


def as_list(value):
    return [value] if isinstance(value, str) else value


def test_images_every_object_action_only_through_the_endpoint_or_by_datasync(policies):
    deny = statement(policies["images"], "ObjectsOnlyThroughTheOnPremEndpointOrByDataSync")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    # s3:* on the objects: every object action, the versions' (GetObjectVersion, DeleteObjectVersion, ...) too.
    assert as_list(deny["Action"]) == ["s3:*"]
    assert as_list(deny["Resource"]) == [f"arn:aws:s3:::{BUCKET}/*"]
    # One StringNotEquals block with both keys: denied only when neither way in is used.
    assert deny["Condition"] == {"StringNotEquals": {"aws:SourceVpce": ENDPOINT, "aws:PrincipalArn": DATASYNC}}


def test_images_refuse_an_object_encrypted_with_another_key(policies):
    key = statement(policies["images"], "OnlyTheDeploymentKey")
    assert key["Effect"] == "Deny" and as_list(key["Action"]) == ["s3:PutObject"]
    assert as_list(key["Resource"]) == [f"arn:aws:s3:::{BUCKET}/*"]
    # IfExists: a request without encryption headers gets the bucket's default, the deployment's key.
    assert key["Condition"] == {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY}}
    sse = statement(policies["images"], "OnlySseKms")
    assert sse["Effect"] == "Deny" and as_list(sse["Action"]) == ["s3:PutObject"]
    assert sse["Condition"] == {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}


@pytest.mark.parametrize(("bucket", "name"), [("images", BUCKET), ("logs", LOGS), ("access_logs", ACCESS_LOGS)])
def test_tls_only(policies, bucket, name):
    tls = statement(policies[bucket], "OnlyTls")
    assert tls["Effect"] == "Deny" and tls["Principal"] == "*" and as_list(tls["Action"]) == ["s3:*"]
    assert sorted(as_list(tls["Resource"])) == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_log_buckets_admit_only_their_log_deliveries(policies):
    # The images bucket's server access logs have a bucket of their own: S3 does not deliver them to a bucket
    # with Object Lock, which the log bucket has.
    allows = [st for st in policies["logs"]["Statement"] if st["Effect"] == "Allow"]
    # eu-west-1 existed before August 2022: its Elastic Load Balancing account writes the logs.
    assert [(st["Principal"], st["Action"], st["Resource"]) for st in allows] == [
        (
            {"AWS": "arn:aws:iam::156460612806:root"},
            "s3:PutObject",
            f"arn:aws:s3:::{LOGS}/elb/AWSLogs/123456789012/*",
        ),
    ]
    allows = [st for st in policies["access_logs"]["Statement"] if st["Effect"] == "Allow"]
    assert {(st["Principal"]["Service"], st["Action"], st["Resource"]) for st in allows} == {
        ("logging.s3.amazonaws.com", "s3:PutObject", f"arn:aws:s3:::{ACCESS_LOGS}/s3/{BUCKET}/*"),
    }


def test_the_moto_stand_ins_are_the_real_policies_without_their_conditional_statements(policies):
    moto = yaml.safe_load((ROOT / "molecule/aws/host_vars/localhost/moto.yml").read_text())
    for stand_in, real in (
        ("aws_storage_log_bucket_policy", "logs"),
        ("aws_storage_access_log_bucket_policy", "access_logs"),
    ):
        stand_in_sids = [st["Sid"] for st in moto[stand_in]["Statement"]]
        real_unconditional = [st["Sid"] for st in policies[real]["Statement"] if "Condition" not in st]
        assert stand_in_sids == real_unconditional
    for stand_in in (
        "aws_storage_images_bucket_policy",
        "aws_storage_log_bucket_policy",
        "aws_storage_access_log_bucket_policy",
    ):
        assert not [st for st in moto[stand_in]["Statement"] if "Condition" in st]


def test_the_on_prem_hosts_have_no_right_on_the_ssm_or_log_bucket():
    # The aws_ssm connection presigns every transfer with the controller's credentials; the hosts only curl the
    # URLs. The host role's policy must name neither bucket (least privilege).
    text = (ROOT / "roles/aws_identity/vars/main.yml").read_text()
    host_role = next(role for role in yaml.safe_load(text)["_aws_identity_roles"] if role["key"] == "ec2")
    resources = [r for st in host_role["policy"]["Statement"] for r in as_list(st["Resource"])]
    assert not [r for r in resources if "ssm_bucket" in r or "log_bucket" in r or "-ssm-" in r or "-logs-" in r]
    assert {r for r in resources if r.startswith("arn:aws:s3:::")} <= {
        "arn:aws:s3:::{{ aws_identity_images_bucket }}",
        "arn:aws:s3:::{{ aws_identity_images_bucket }}/*",
        "arn:aws:s3:::{{ aws_identity_images_bucket }}/{{ aws_identity_ingest_requests_prefix }}*",
    }


def test_the_load_balancer_log_writer_is_the_regions_elb_account_or_the_delivery_service(tmp_path):
    # Issue 21 item 6: regions made before August 2022 name their Elastic Load Balancing account; later ones
    # (eu-central-2, ap-south-2, il-central-1) the log delivery service.
    regions = ["us-east-1", "eu-west-1", "ap-northeast-1", "eu-central-2", "ap-south-2", "il-central-1"]
    out = tmp_path / "principals.json"
    playbook = tmp_path / "render.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Render the log writer of each region",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "ansible.builtin.include_vars": {
                                "file": str(ROOT / "roles/aws_storage/vars/elb_log_delivery.yml")
                            }
                        },
                        {
                            "ansible.builtin.set_fact": {
                                "found": "{{ found | default({}) | combine({item: _aws_storage_elb_log_principal}) }}"
                            },
                            "vars": {"aws_storage_region": "{{ item }}"},
                            "loop": regions,
                        },
                        {
                            "ansible.builtin.copy": {
                                "content": "{{ found | to_json }}",
                                "dest": str(out),
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
    service = {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert json.loads(out.read_text()) == {
        "us-east-1": {"AWS": "arn:aws:iam::127311923021:root"},
        "eu-west-1": {"AWS": "arn:aws:iam::156460612806:root"},
        "ap-northeast-1": {"AWS": "arn:aws:iam::582318560864:root"},
        "eu-central-2": service,
        "ap-south-2": service,
        "il-central-1": service,
    }
