"""roles/admin_credentials/tasks/api_login.yml: the one place that reads the admin web's login and writes the
deployment's CA for a call to the PACS's web API (playbooks/ingest.yml, roles pacs_peers and pacs_backup).

Run as those callers run it (include_role ... tasks_from: api_login), against moto's Secrets Manager on a free
loopback port.
"""

from __future__ import annotations

import json
import stat
import sys

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.support.ansible_run import run_playbook

CA = "-----BEGIN CERTIFICATE-----\nTEST-CA\n-----END CERTIFICATE-----\n"
PASSWORD = "Pw-api-login-test-4711"  # noqa: S105 - moto's, for this test only
# The callers' inputs: the secret of the logins and the PKI's CA secret.
SECRETS = {"admin_credentials_secret_name": "dep/admin-web/users", "admin_credentials_ca_secret_name": "dep/pki/ca"}


@pytest.fixture(scope="module")
def endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    secrets = boto3.client(
        "secretsmanager", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credential
    )  # fmt: skip
    users = [{"name": "pacs-admin", "password": PASSWORD}, {"name": "second", "password": "other"}]
    secrets.create_secret(Name=SECRETS["admin_credentials_secret_name"], SecretString=json.dumps({"users": users}))
    secrets.create_secret(
        Name=SECRETS["admin_credentials_ca_secret_name"], SecretString=json.dumps({"certificate": CA})
    )
    yield url
    server.stop()


def run(tmp_path, endpoint, inputs):
    connection = {"endpoint_url": endpoint, "access_key": "testing", "secret_key": "testing", "region": "us-east-1"}
    play = [
        {
            "name": "Call the entry point as its callers do",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Read the login and write the CA",
                    "ansible.builtin.include_role": {"name": "admin_credentials", "tasks_from": "api_login"},
                    "vars": {"admin_credentials_aws_connection": connection, **inputs},
                },
                {
                    "name": "Show the login's name",
                    "ansible.builtin.debug": {"msg": "LOGIN {{ admin_credentials_login.name }}"},
                },
            ],
        }
    ]
    playbook = tmp_path / "api_login.yml"
    playbook.write_text(json.dumps(play))
    return run_playbook(
        str(playbook), "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}", inventory="localhost,"
    )


def test_the_login_is_the_first_user_and_the_ca_is_written_private(tmp_path, endpoint):
    ca_path = tmp_path / "ca.crt"
    done = run(tmp_path, endpoint, {**SECRETS, "admin_credentials_ca_path": str(ca_path)})
    assert done.returncode == 0, done.report()
    assert "LOGIN pacs-admin" in done.output
    assert PASSWORD not in done.output
    assert ca_path.read_text() == CA
    assert stat.S_IMODE(ca_path.stat().st_mode) == 0o600
    # A scratch copy of the secret: the entry point reports no change.
    assert done.changed == 0, done.report()


def test_a_missing_input_is_refused_by_the_entry_points_argument_spec(tmp_path, endpoint):
    done = run(tmp_path, endpoint, {"admin_credentials_secret_name": SECRETS["admin_credentials_secret_name"]})
    assert done.returncode != 0
    assert "missing required arguments: admin_credentials_ca_path, admin_credentials_ca_secret_name" in done.output
    assert not (tmp_path / "ca.crt").exists()
