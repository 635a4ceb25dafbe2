"""The lab PACS's REST API as an operator reaches it: through the admin web's TLS and login.

The admin web's CA and first user come from the lab's Secrets Manager (moto), as the smoke checks read
them; the CA is written to a file of the caller's folder (mode 0600) for the TLS check.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from module_utils.pacs_rest import RestTransport
from tests.support.lab_aws import lab_client
from tests.support.lab_docker import lab_pacs_engine

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


def stored_instances(study_uid: str, folder: Path) -> list[str]:
    """The PACS's instances of the study (ids or file URIs), asked over its REST API behind the admin web's
    TLS and login: Orthanc's /tools/find, or Dicoogle's index (after its pending index tasks)."""
    rest = admin_rest(folder)
    if lab_pacs_engine() == "orthanc":
        return rest.json("POST", "/tools/find", payload={"Level": "Instance", "Query": {"StudyInstanceUID": study_uid}})
    deadline = time.monotonic() + 60
    while rest.json("GET", "/index/task").get("count") and time.monotonic() < deadline:
        time.sleep(0.5)
    found = rest.json("GET", "/search", query={"query": f'StudyInstanceUID:"{study_uid}"', "provider": "lucene"})
    return [result["uri"] for result in found["results"]]
