"""The lab's main job (playbooks/site.yml): certificates in moto's Secrets Manager, images in the registry.

The job runs twice in this module. The first run converges (on a fresh machine it issues the
certificates and builds the images) and records each role's stamp (library/converge_stamp.py).
Before the second run a file on the storage node is edited by hand. The second run then must:
- run the controller's roles (images, PACS task, host containers) in full and change nothing: their
  idempotence, which no other test of the default suite asserts (pki's is in molecule/pki,
  pacs_settings' in tests/unit, the hosts' roles' in their extended molecule scenarios);
- skip, on their stamps, the roles whose inputs and live state are as at the first run (pki, and
  dcmtk and ghostunnel on both hosts), with no change on the client;
- converge storescp again, because its live files differ from the stamp, and put the edit back.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import subprocess
import urllib.request
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.ansible_run import ROOT, PlaybookRun, run_playbook
from tests.support.lab_aws import lab_client

_DEBIAN = importlib.util.spec_from_file_location(
    "container_images_debian", ROOT / "roles" / "container_images" / "filter_plugins" / "container_images_debian.py"
)
debian = importlib.util.module_from_spec(_DEBIAN)
_DEBIAN.loader.exec_module(debian)


DEPLOYMENT = "pacs-lab"
REGISTRY = "127.0.0.1:5001"
LEAVES = {
    "pacs-edge": {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH},
    "admin-web": {ExtendedKeyUsageOID.SERVER_AUTH},
    "dicom-client": {ExtendedKeyUsageOID.CLIENT_AUTH},
    "storage-node": {ExtendedKeyUsageOID.SERVER_AUTH},
}
IMAGES = ("nginx", "ghostunnel", "pacs")
# A container of the lab's PACS task that runs each image.
RUNNING_IN = {"nginx": "nginx", "ghostunnel": "ghostunnel-storage", "pacs": "pacs"}
STORAGE_HOST = "pacs-lab-storage"
CLIENT_HOST = "pacs-lab-client"


# The controller's roles, run in full by the second run: their idempotence is asserted there.
FULL_IN_SECOND_RUN = ("container_images", "lab_pacs_task", "lab_hosts")
# The roles the second run leaves to their stamps, by the words their check prints, and the hosts
# each must be skipped on. The client's tunnels to the PACS restart until the PACS task answers
# (Restart=on-failure); when the first run's record on the client found them still restarting, it
# recorded nothing (a warning says so) and the second run converges the client in full, which
# must then change nothing (test_site_rerun_changes_nothing_but_the_hand_edit).
SKIPPED_IN_SECOND_RUN = {"PKI": ["localhost"], "dcmtk and ghostunnel": [STORAGE_HOST, CLIENT_HOST]}
CLIENT_NOT_RECORDED = "not recorded, the live state fails a probe: probe systemctl is-active ghostunnel-pacs-"


@pytest.fixture(scope="module")
def site_runs(site_first_run):
    first = site_first_run
    converged = _storage_node("cat", STORESCP_LOG_CONFIG).stdout
    _storage_node("sh", "-c", f"echo '# edited by hand' >> {STORESCP_LOG_CONFIG}")
    full = json.dumps({f"{role}_fast_rerun": False for role in FULL_IN_SECOND_RUN})
    second = run_playbook("playbooks/site.yml", "-e", full, timeout=3600)
    restored = _storage_node("cat", STORESCP_LOG_CONFIG).stdout == converged
    return SiteRuns(first, second, restored)


@dataclass(frozen=True)
class SiteRuns:
    first: PlaybookRun
    second: PlaybookRun
    edit_put_back: bool

    @property
    def all(self) -> tuple[PlaybookRun, ...]:
        return (self.first, self.second)


def _storage_node(*argv: str) -> subprocess.CompletedProcess:
    argv = ["docker", "exec", STORAGE_HOST, *argv]
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60)


STORESCP_LOG_CONFIG = "/etc/dicom-storage/storescp-log.cfg"


@pytest.fixture(scope="module")
def aws():
    return {name: lab_client(name) for name in ("secretsmanager", "kms")}


def test_site_converges(site_runs):
    first = site_runs.first
    assert first.returncode == 0, first.report()


def test_site_rerun_changes_nothing_but_the_hand_edit(site_runs):
    """The controller's roles ran in full and changed nothing; so did the client's, on their stamps."""
    second = site_runs.second
    assert second.returncode == 0, second.report()
    assert second.recap, "no PLAY RECAP in the output"
    assert {host: counts["changed"] for host, counts in second.recap.items() if host != STORAGE_HOST} == {
        "localhost": 0,
        "pacs-lab-client": 0,
    }, second.report()
    for words in ("images", "PACS task", "host containers"):
        assert f"{words}: nothing to do" not in second.output, f"{words} was skipped, not run in full"


def test_a_rerun_skips_what_holds_and_puts_a_hand_edit_back(site_runs):
    """The stamps compare live files: the edited storescp converges again, the others are skipped."""
    second = site_runs.second
    drifted = STORESCP_LOG_CONFIG.rsplit("/", 1)[0]
    assert f"storescp: converging, live state changed since the last converge: path {drifted}" in second.output, (
        second.report()
    )
    assert site_runs.edit_put_back, f"{STORESCP_LOG_CONFIG} was not put back"
    assert second.recap[STORAGE_HOST]["changed"] >= 1, second.report()
    for words, hosts in SKIPPED_IN_SECOND_RUN.items():
        said = re.findall(
            r"^\[([^\]]+)\] " + re.escape(f"{words}: nothing to do, inputs and live state"),
            second.output,
            flags=re.MULTILINE,
        )
        want = set(hosts)
        # Ansible wraps warnings at spaces and hyphens: compare without whitespace.
        warned = "".join(CLIENT_NOT_RECORDED.split()) in "".join(site_runs.first.output.split())
        if CLIENT_HOST in want and CLIENT_HOST not in said and warned:
            want.discard(CLIENT_HOST)
        assert want <= set(said), f"{words}: skipped on {said}, want {sorted(want)}\n{second.report()}"


def test_smoke_checks_pass_in_every_run(site_runs):
    """The main job ends with playbooks/smoke.yml: every named check must have passed."""
    for run in site_runs.all:
        assert "All smoke checks passed for deployment pacs-lab" in run.output, run.report()
        for check in (
            "SMOKE C-ECHO",
            "SMOKE C-STORE",
            "SMOKE C-FIND",
            "SMOKE C-MOVE delivered",
            "SMOKE refused: a connection with no client certificate",
            "SMOKE refused: a client certificate from another CA",
            "SMOKE refused: a certificate of the deployment's CA with the wrong identity",
            "SMOKE refused: plain DICOM straight to the TLS ports",
            "SMOKE refused: the plain DIMSE and web ports, and the admin web past its login (the ALB), from on-prem",
            "SMOKE admin web refuses without the login",
            "SMOKE admin web refuses a wrong password",
            "SMOKE admin web answers over HTTPS with the session",
        ):
            assert check in run.output, check


def test_no_private_key_in_output(site_runs):
    for run in site_runs.all:
        assert "PRIVATE KEY" not in run.output


def _secret(aws, name):
    return aws["secretsmanager"].get_secret_value(SecretId=f"{DEPLOYMENT}/pki/{name}")


def test_secrets_are_encrypted_with_the_deployment_key(site_runs, aws):
    key_arn = aws["kms"].describe_key(KeyId=f"alias/{DEPLOYMENT}")["KeyMetadata"]["Arn"]
    for name in ("ca", *LEAVES):
        described = aws["secretsmanager"].describe_secret(SecretId=f"{DEPLOYMENT}/pki/{name}")
        assert described.get("KmsKeyId") in (key_arn, f"alias/{DEPLOYMENT}", key_arn.split("/")[-1]), name
        tags = {tag["Key"]: tag["Value"] for tag in described.get("Tags", [])}
        assert tags.get("pacs:deployment") == DEPLOYMENT, name


def test_the_cas_private_key_is_apart_under_its_own_key(site_runs, aws):
    # Issue 21 item 1: <d>/pki/ca holds the certificate only; the key is <d>-ca/private-key, under alias/<d>-ca.
    assert list(json.loads(_secret(aws, "ca")["SecretString"])) == ["certificate"]
    ca_key_arn = aws["kms"].describe_key(KeyId=f"alias/{DEPLOYMENT}-ca")["KeyMetadata"]["Arn"]
    assert ca_key_arn != aws["kms"].describe_key(KeyId=f"alias/{DEPLOYMENT}")["KeyMetadata"]["Arn"]
    described = aws["secretsmanager"].describe_secret(SecretId=f"{DEPLOYMENT}-ca/private-key")
    assert described.get("KmsKeyId") in (ca_key_arn, ca_key_arn.split("/")[-1])
    value = json.loads(aws["secretsmanager"].get_secret_value(SecretId=f"{DEPLOYMENT}-ca/private-key")["SecretString"])
    key = serialization.load_pem_private_key(value["private_key"].encode(), password=None)
    ca = x509.load_pem_x509_certificate(json.loads(_secret(aws, "ca")["SecretString"])["certificate"].encode())
    assert ca.public_key().public_numbers() == key.public_key().public_numbers()


def test_leaf_certificates_chain_to_the_ca_and_match_their_keys(site_runs, aws):
    ca = x509.load_pem_x509_certificate(json.loads(_secret(aws, "ca")["SecretString"])["certificate"].encode())
    for name, usages in LEAVES.items():
        value = json.loads(_secret(aws, name)["SecretString"])
        cert = x509.load_pem_x509_certificate(value["certificate"].encode())
        key = serialization.load_pem_private_key(value["private_key"].encode(), password=None)
        cert.verify_directly_issued_by(ca)
        assert value["ca_certificate"].strip() == ca.public_bytes(serialization.Encoding.PEM).decode().strip()
        assert cert.public_key().public_numbers() == key.public_key().public_numbers(), name
        assert set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == usages, name
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert cert.not_valid_after_utc > ca.not_valid_before_utc


def test_edge_certificate_names_the_endpoint(site_runs, aws):
    value = json.loads(_secret(aws, "pacs-edge")["SecretString"])
    cert = x509.load_pem_x509_certificate(value["certificate"].encode())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "dimse.pacs.internal" in names.get_values_for_type(x509.DNSName)
    assert "localhost" in names.get_values_for_type(x509.DNSName)


def _registry(path):
    with urllib.request.urlopen(f"http://{REGISTRY}{path}", timeout=10) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def test_three_images_are_in_the_registry(site_runs):
    catalog = set(_registry("/v2/_catalog")["repositories"])
    for image in IMAGES:
        assert f"{DEPLOYMENT}/{image}" in catalog
        tags = _registry(f"/v2/{DEPLOYMENT}/{image}/tags/list")["tags"]
        assert tags, image
        assert "latest" not in tags, image


@pytest.mark.parametrize("image", IMAGES)
def test_image_runs_as_non_root_and_carries_version_labels(site_runs, image):
    # The image the lab runs (not the newest tag in the registry, which in a long-lived lab may be an
    # older build; pulling it would also change the live state collect.yml compares with the stamps).
    container = f"{DEPLOYMENT}-{RUNNING_IN[image]}"
    ref = subprocess.run(
        ["docker", "inspect", "--format={{.Config.Image}}", container], check=True, capture_output=True, text=True
    ).stdout.strip()
    # By the digest the registry returned for the push (the task definition names it so).
    assert re.fullmatch(f"{REGISTRY}/{DEPLOYMENT}/{image}@sha256:[0-9a-f]{{64}}", ref), ref
    manifest = urllib.request.Request(
        f"http://{REGISTRY}/v2/{DEPLOYMENT}/{image}/manifests/{ref.split('@')[1]}",
        method="HEAD",
        headers={
            "Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"
        },
    )
    with urllib.request.urlopen(manifest, timeout=10) as response:  # noqa: S310 - loopback only
        assert response.status == 200, f"{ref} is not in the registry"
    # The registry serves it (already local, so the pull changes nothing).
    subprocess.run(["docker", "pull", "-q", ref], check=True, capture_output=True)
    config = json.loads(subprocess.run(["docker", "image", "inspect", ref], check=True, capture_output=True).stdout)[0][
        "Config"
    ]
    user = config["User"].split(":")[0]
    assert user and user not in ("0", "root"), f"{image} runs as {config['User']!r}"
    labels = config["Labels"] or {}
    assert labels.get("org.opencontainers.image.version"), labels
    assert labels.get("org.opencontainers.image.title"), labels
    uid = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "id", ref, "-u"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert uid != "0"
    # Every Debian package the build installed is recorded, package=version, and is what dpkg says.
    recorded = dict(item.split("=", 1) for item in labels["io.pacs.debian.packages"].split())
    installed = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "dpkg-query", ref, "-W", "-f=${Package} ${Version}\\n"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    dpkg = dict(line.split(" ", 1) for line in installed.splitlines())
    assert recorded, f"{image}: no package recorded (the base image's pending upgrades at least)"
    assert {name: dpkg.get(name) for name in recorded} == recorded


def _archive_versions(package: str) -> list[str]:
    """What the Debian archive offers of package now, as apt-cache madison in the lab's base image says."""
    madison = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "pacs-lab/debian:bookworm",
            "sh",
            "-c",
            f"apt-get -qq update >/dev/null && apt-cache madison {package}",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    return [line.split("|")[1].strip() for line in madison.splitlines() if line.count("|") >= 2]


def test_an_unavailable_pinned_revision_builds_with_the_newest_of_its_upstream_version(site_runs):
    # The project's default nginx pin is the revision Debian replaced on 2026-12-05 (deb12u11): the
    # mirror no longer has it, and the build that asked for it exactly failed on every fresh machine.
    pin = "1.22.1-9+deb12u11"
    defaults = (ROOT / "roles" / "container_images" / "defaults" / "main.yml").read_text()
    assert f"container_images_nginx_version: {pin}" in defaults
    offered = _archive_versions("nginx-light")
    assert pin not in offered, f"the archive offers {pin} again: this test no longer proves anything ({offered})"
    newest = max(
        (v for v in offered if v.startswith("1.22.1-")), key=functools.cmp_to_key(debian.debian_version_compare)
    )
    labels = json.loads(
        subprocess.run(
            ["docker", "inspect", "--format={{json .Config.Labels}}", f"{DEPLOYMENT}-nginx"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert f"nginx-light={newest}" in labels["io.pacs.debian.packages"].split(), labels
    assert labels["org.opencontainers.image.version"] == newest
