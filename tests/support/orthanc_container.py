"""A real Orthanc for the tests: Debian's Orthanc 1.10.1 on a free loopback port, HTTPS and basic auth.

The images are the tests' throw-away ones with Debian's Orthanc 1.10.1 and nginx
(tests/support/check_images.py, built from the lab's base image when missing; `PACS_TEST_ORTHANC_IMAGE`
and `PACS_TEST_NGINX_IMAGE` may name others, such as the lab's). The containers are
`PACS_TEST_ORTHANC_NAME` (default `pacs-test-orthanc-<pid>`) and the same name with `-tls`. Orthanc gets
a config folder of its own (one orthanc.json, so no section is defined twice), nginx a throwaway CA's
server certificate; both are removed, by name, when the fixture ends. Tests that need them are skipped,
with the reason, when Docker or the lab's base image (set-up makes it) is missing.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support import check_images
from tests.support.testpki import TestCA

# The tests' throw-away images with Debian's Orthanc and nginx (tests/support/check_images.py), built
# from the lab's base image when missing; the lab's own images may be named instead (environment).
DEFAULT_IMAGE = check_images.ORTHANC_IMAGE
DEFAULT_NGINX_IMAGE = check_images.NGINX_IMAGE
USER = "ingest"
PASSWORD = "ingest-test-password"  # noqa: S105 - a throwaway container's login


@dataclass
class Orthanc:
    name: str
    base_url: str
    ca_file: Path
    username: str
    password: str
    dicom_port: int

    def transport_args(self) -> dict:
        return {"ca_file": str(self.ca_file), "username": self.username, "password": self.password}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def docker_image_present(image: str) -> bool:
    if not shutil.which("docker"):
        return False
    found = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
    return found.returncode == 0


def _rsa_server_pem(ca: TestCA, dns_name: str) -> bytes:
    """Certificate and key (RSA, as the lab's) in one PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM) + key_pem


def images() -> tuple[str, str]:
    return (
        os.environ.get("PACS_TEST_ORTHANC_IMAGE", DEFAULT_IMAGE),
        os.environ.get("PACS_TEST_NGINX_IMAGE", DEFAULT_NGINX_IMAGE),
    )


def available() -> bool:
    """Docker answers and the images are here or can be built (the lab's base image is there)."""
    wanted = images()
    if wanted == (DEFAULT_IMAGE, DEFAULT_NGINX_IMAGE):
        return docker_image_present(check_images.BASE_IMAGE) or all(docker_image_present(image) for image in wanted)
    return all(docker_image_present(image) for image in wanted)


def _config() -> dict:
    return {
        "Name": "INGEST-TEST",
        "StorageDirectory": "/var/lib/orthanc/db-v6",
        "IndexDirectory": "/var/lib/orthanc/db-v6",
        "Plugins": [],
        "HttpServerEnabled": True,
        "HttpPort": 8042,
        "RemoteAccessAllowed": True,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD},
        "DicomServerEnabled": True,
        "DicomAet": "PACS",
        "DicomPort": 4242,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": True,
    }


NGINX_CONF = """
worker_processes 1;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path /tmp/client_body;
  proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi;
  scgi_temp_path /tmp/scgi;
  client_max_body_size 64m;
  server {
    listen 8443 ssl;
    ssl_certificate /etc/ingest-tls/tls.pem;
    ssl_certificate_key /etc/ingest-tls/tls.pem;
    location / { proxy_pass http://127.0.0.1:8042; }
  }
}
"""


def _docker_run(*argv: str) -> None:
    subprocess.run(["docker", "run", "-d", *argv], check=True, capture_output=True)


@contextlib.contextmanager
def orthanc_container(workdir: Path) -> Iterator[Orthanc]:
    """Start Orthanc and its TLS front, wait until the REST API answers over TLS, yield, remove both.

    Like the lab's task: Orthanc answers HTTP inside its network namespace only, nginx (the lab's image, in
    the same namespace) serves it over TLS; Orthanc's own HTTPS cannot be used (Debian's Orthanc 1.10.1
    does not start its web server with SslEnabled).
    """
    image, nginx_image = images()
    if (image, nginx_image) == (DEFAULT_IMAGE, DEFAULT_NGINX_IMAGE):
        check_images.ensure_check_images()
    name = os.environ.get("PACS_TEST_ORTHANC_NAME", f"pacs-test-orthanc-{os.getpid()}")
    front = f"{name}-tls"
    config = workdir / "orthanc-config"
    tls = workdir / "tls"
    for folder in (config, tls):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
    ca = TestCA(workdir, "orthanc-test-ca")
    pem = tls / "tls.pem"
    pem.write_bytes(_rsa_server_pem(ca, "localhost"))
    pem.chmod(0o644)  # read by nginx's non-root user; a throwaway key
    (tls / "nginx.conf").write_text(NGINX_CONF)
    (config / "orthanc.json").write_text(json.dumps(_config(), indent=2))
    http_port, dicom_port = _free_port(), _free_port()
    for old in (front, name):
        subprocess.run(["docker", "rm", "-f", old], capture_output=True, check=False)
    try:
        _docker_run(
            "--name", name, "-e", "TCP_NODELAY=1",
            "-p", f"127.0.0.1:{http_port}:8443", "-p", f"127.0.0.1:{dicom_port}:4242",
            "-v", f"{config}:/etc/orthanc:ro",
            image, "Orthanc", "/etc/orthanc/",
        )  # fmt: skip
        _docker_run(
            "--name", front, "--network", f"container:{name}", "-v", f"{tls}:/etc/ingest-tls:ro",
            nginx_image, "nginx", "-c", "/etc/ingest-tls/nginx.conf", "-g", "daemon off;",
        )  # fmt: skip
        base_url = f"https://localhost:{http_port}"
        _wait_ready(base_url, ca.cert_path, name)
        yield Orthanc(name, base_url, ca.cert_path, USER, PASSWORD, dicom_port)
    finally:
        for old in (front, name):
            subprocess.run(["docker", "rm", "-f", old], capture_output=True, check=False)


def _wait_ready(base_url: str, ca_file: Path, name: str, timeout: float = 30.0) -> None:
    context = ssl.create_default_context(cafile=str(ca_file))
    request = urllib.request.Request(base_url + "/system")  # noqa: S310 - https, built above
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(request, context=context, timeout=2)  # noqa: S310
        except urllib.error.HTTPError as err:
            if err.code == 401:  # up, and asking for the login
                return
            last = err
        except (OSError, urllib.error.URLError) as err:
            last = err
        time.sleep(0.2)
    logs = subprocess.run(["docker", "logs", "--tail", "30", name], capture_output=True, text=True, check=False)
    raise RuntimeError(f"Orthanc {name} did not answer in {timeout} s ({last}):\n{logs.stdout}{logs.stderr}")
