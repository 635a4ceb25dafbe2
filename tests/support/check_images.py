"""Throw-away images for the tests that run real nginx and Orthanc (Debian's packages), built once.

Built from the lab's base image (pacs-lab/debian:bookworm, made by set-up) with Debian's packages, so
they exist as soon as set-up has run, before the lab's own images are built; a test that needs them
builds them when they are missing (one worker at a time; the others wait for its image).
"""

from __future__ import annotations

import fcntl
import subprocess
import tempfile
from pathlib import Path

import pytest

BASE_IMAGE = "pacs-lab/debian:bookworm"
NGINX_IMAGE = "pacs-test/nginx-check:1"
ORTHANC_IMAGE = "pacs-test/orthanc-check:1"
NGINX_UID = 1002  # the project's nginx image user (container_images_nginx_uid/gid)

NGINX_DOCKERFILE = f"""\
FROM {BASE_IMAGE}
RUN set -eux; \\
    groupadd --system --gid {NGINX_UID} nginx; \\
    useradd --system --uid {NGINX_UID} --gid nginx --no-create-home --home-dir /nonexistent \\
        --shell /usr/sbin/nologin nginx; \\
    apt-get update; \\
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light curl openssl; \\
    rm -rf /var/lib/apt/lists/*; \\
    install -d -o nginx -g nginx -m 0755 /run/nginx
"""
ORTHANC_DOCKERFILE = f"""\
FROM {BASE_IMAGE}
RUN set -eux; \\
    apt-get update; \\
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
        orthanc orthanc-dicomweb dcmtk curl; \\
    rm -rf /var/lib/apt/lists/*
ENV TCP_NODELAY=1
"""


def docker(*args: str, check: bool = True, timeout: int = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout, **kwargs)


def build_once(tag: str, dockerfile: str, workdir: Path | None = None) -> str:
    """The image `tag`, built from `dockerfile` unless it exists; fails the test when the build fails.

    Test workers build a tag one at a time (a lock file per tag): a worker that finds a build under
    way waits for it and uses its image instead of building the same image beside it.
    """
    lock_path = Path(tempfile.gettempdir()) / f"pacs-test-image-{tag.replace('/', '_').replace(':', '_')}.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if docker("image", "inspect", tag, check=False).returncode == 0:
            return tag
        with tempfile.TemporaryDirectory(prefix="image-", dir=workdir) as context:
            (Path(context) / "Dockerfile").write_text(dockerfile)
            result = docker("build", "-q", "-t", tag, context, check=False, timeout=900)
    if result.returncode != 0:
        pytest.fail(f"docker build of {tag} failed:\n{result.stdout}\n{result.stderr}")
    return tag


def ensure_check_images() -> tuple[str, str]:
    """Both throw-away images (Orthanc, nginx), built when missing."""
    return build_once(ORTHANC_IMAGE, ORTHANC_DOCKERFILE), build_once(NGINX_IMAGE, NGINX_DOCKERFILE)
