"""The lab PACS's REST API as an operator reaches it: through the admin web's TLS and login.

The admin web's CA and first user come from the lab's Secrets Manager (moto), as the smoke checks read
them; the CA is written to a file of the caller's folder (mode 0600) for the TLS check.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from module_utils.pacs_rest import RestTransport
from tests.support.lab_aws import lab_client

ADMIN_URL = "https://127.0.0.1:8443"
DEPLOYMENT = "pacs-lab"


def admin_rest(folder: Path) -> RestTransport:
    """A REST client of the lab PACS behind the admin web, logged in as its first user."""
    secrets = lab_client("secretsmanager")
    users = json.loads(secrets.get_secret_value(SecretId=f"{DEPLOYMENT}/admin-web/users")["SecretString"])["users"]
    ca = folder / "admin-web-ca.crt"
    ca.write_text(json.loads(secrets.get_secret_value(SecretId=f"{DEPLOYMENT}/pki/ca")["SecretString"])["certificate"])
    os.chmod(ca, 0o600)
    return RestTransport(ADMIN_URL, ca_file=str(ca), username=users[0]["name"], password=users[0]["password"])
