"""Role pacs_settings: the rendered files, read by the real programs.

- nginx (Debian's nginx-light, as in the project's nginx image, non-root): `nginx -t`, the role's
  own validation hook, TLS versions and suites, the htpasswd login and the health check.
- Orthanc 1.10.1 (Debian's package): starts with the rendered folder as /etc/orthanc, reports the
  inventory's AE title and ports, admits only the listed caller and only from loopback (the TLS
  tunnel), and builds https DICOMweb URLs; nginx in its network namespace fronts it.

Two throwaway images are built once from the lab's base image (pacs-lab/debian:bookworm) with
Debian's packages; every container started here is removed by its id at the end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.check_images import (
    BASE_IMAGE,
    NGINX_DOCKERFILE,
    NGINX_IMAGE,
    NGINX_UID,
    ORTHANC_DOCKERFILE,
    ORTHANC_IMAGE,
    build_once,
    docker,
)
from tests.unit.test_pacs_settings_render import ADMIN_PASSWORD, ADMIN_USER, ADMIN_USERS, GLOBALS, render

SAMPLE_DICOM = Path(__file__).resolve().parents[2] / "data" / "dicom" / "1-01.dcm"


@pytest.fixture(scope="module")
def engine_ok():
    if shutil.which("docker") is None or docker("info", check=False, timeout=30).returncode != 0:
        pytest.skip("no Docker engine answers")
    if docker("image", "inspect", BASE_IMAGE, check=False).returncode != 0:
        pytest.skip(f"the lab's base image {BASE_IMAGE} is not built (./lab up builds it)")


@pytest.fixture(scope="module")
def nginx_image(engine_ok, tmp_path_factory) -> str:
    return build_once(NGINX_IMAGE, NGINX_DOCKERFILE, tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def orthanc_image(engine_ok, tmp_path_factory) -> str:
    return build_once(ORTHANC_IMAGE, ORTHANC_DOCKERFILE, tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory) -> Path:
    """A throwaway self-signed certificate, readable by the container's non-root user."""
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(folder / "tls.key"),
            "-out",
            str(folder / "tls.crt"),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    (folder / "tls.key").chmod(0o644)
    folder.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def settings(settings_render) -> dict[str, Path]:
    """The folders test_pacs_settings_render.py checks, shared: containers mount them read-only."""
    engines = ("dicoogle", "orthanc")
    return {engine: settings_render(ADMIN_USERS, "-e", f"pacs_engine={engine}").dest for engine in engines}


@pytest.fixture(scope="module")
def with_login(settings_render):
    """with_login(engine): a render with nginx's own basic login on.

    The login is in front of nginx on both targets (the ALB; role lab_alb in the lab), so nginx asks for
    none by default; its basic login stays an option of the role and is checked live with it on.
    """

    def render(engine: str) -> Path:
        return settings_render(
            ADMIN_USERS, "-e", f"pacs_engine={engine}", "-e", '{"pacs_settings_nginx_basic_auth": true}'
        ).dest

    return render


@pytest.fixture
def containers():
    """Ids of the containers a test starts; each is removed by its id afterwards."""
    started: list[str] = []
    yield started
    for container_id in reversed(started):
        docker("rm", "-f", "-v", container_id, check=False)


def nginx_mounts(dest: Path, tls_dir: Path) -> list[str]:
    return ["-v", f"{dest / 'nginx'}:/etc/nginx/pacs:ro", "-v", f"{tls_dir}:/etc/nginx/tls:ro"]


def start_nginx(image: str, dest: Path, tls_dir: Path, containers: list[str], *network: str) -> str:
    container_id = docker(
        "run",
        "-d",
        "--user",
        f"{NGINX_UID}:{NGINX_UID}",
        *network,
        *nginx_mounts(dest, tls_dir),
        image,
        "nginx",
        "-c",
        "/etc/nginx/pacs/nginx.conf",
        "-g",
        "daemon off;",
    ).stdout.strip()
    containers.append(container_id)
    wait_for(
        container_id, ["curl", "-sk", "-o", "/dev/null", f"https://127.0.0.1:{GLOBALS['pacs_port_admin_tls']}/healthz"]
    )
    return container_id


def wait_for(container_id: str, command: list[str], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if docker("exec", container_id, *command, check=False).returncode == 0:
            return
        if time.monotonic() > deadline:
            logs = docker("logs", container_id, check=False)
            pytest.fail(f"{command} never succeeded in {container_id[:12]}:\n{logs.stdout}\n{logs.stderr}")
        time.sleep(0.2)


def curl(container_id: str, path: str, *options: str) -> tuple[int, str]:
    """(HTTP status, body) of an HTTPS request to nginx from inside its network namespace."""
    result = docker(
        "exec",
        container_id,
        "curl",
        "-sk",
        "-w",
        "\n%{http_code}",
        *options,
        f"https://127.0.0.1:{GLOBALS['pacs_port_admin_tls']}{path}",
        check=False,
    )
    body, _, status = result.stdout.rpartition("\n")
    return int(status or 0), body


# --- nginx ----------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["dicoogle", "orthanc"])
def test_nginx_t_accepts_the_rendered_configuration_as_non_root(nginx_image, settings, tls_dir, engine):
    result = docker(
        "run",
        "--rm",
        "--user",
        f"{NGINX_UID}:{NGINX_UID}",
        *nginx_mounts(settings[engine], tls_dir),
        nginx_image,
        "nginx",
        "-t",
        "-c",
        "/etc/nginx/pacs/nginx.conf",
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


def validate_vars(folder: Path, image: str, tls_dir: Path, **more: str) -> list[str]:
    """Extra vars (as a JSON file: the command has spaces) that make the role run nginx -t first."""
    command = (
        f"docker run --rm -v %s:/etc/nginx/pacs/nginx.conf:ro -v {tls_dir}:/etc/nginx/tls:ro "
        f"{image} nginx -t -c /etc/nginx/pacs/nginx.conf"
    )
    extra = folder / "validate.json"
    extra.write_text(json.dumps({"pacs_settings_nginx_validate_cmd": command, **more}))
    return ["-e", f"@{extra}"]


def test_the_roles_validation_hook_runs_nginx_t_before_writing(nginx_image, tls_dir, tmp_path):
    dest = tmp_path / "settings"
    dest.mkdir()
    good = render(dest, *validate_vars(tmp_path, nginx_image, tls_dir))
    assert good.returncode == 0, good.output
    assert (dest / "nginx" / "nginx.conf").exists()

    refused = tmp_path / "refused"
    refused.mkdir()
    bad = render(
        refused,
        *validate_vars(
            tmp_path, nginx_image, tls_dir, pacs_settings_nginx_tls_certificate="/etc/nginx/tls/missing.crt"
        ),
    )
    assert bad.returncode != 0
    assert "failed to validate" in bad.output
    assert not (refused / "nginx" / "nginx.conf").exists(), "an invalid nginx.conf was written"


def test_nginx_serves_tls_1_2_and_1_3_aead_only_with_login_and_health_check(
    nginx_image, settings, with_login, tls_dir, containers
):
    # Without its own login (the default) nginx forwards at once: no engine listens here, so 502.
    plain = start_nginx(nginx_image, settings["dicoogle"], tls_dir, containers)
    assert curl(plain, "/")[0] == 502
    nginx = start_nginx(nginx_image, with_login("dicoogle"), tls_dir, containers)
    port = GLOBALS["pacs_port_admin_tls"]

    status, body = curl(nginx, "/healthz")
    assert (status, body) == (200, "ok\n")
    status, headers = curl(nginx, "/healthz", "-D", "-", "-o", "/dev/null")
    assert status == 200
    assert "strict-transport-security: max-age=" in headers.lower()

    assert curl(nginx, "/")[0] == 401
    assert curl(nginx, "/", "-u", f"{ADMIN_USER}:wrong-password")[0] == 401
    # The right password gets past the login; no engine listens here, so nginx answers 502.
    assert curl(nginx, "/", "-u", f"{ADMIN_USER}:{ADMIN_PASSWORD}")[0] == 502

    def handshake(*options: str) -> subprocess.CompletedProcess:
        return docker(
            "exec",
            nginx,
            "openssl",
            "s_client",
            "-connect",
            f"127.0.0.1:{port}",
            *options,
            check=False,
            input="",
            timeout=30,
        )

    assert handshake("-tls1_3").returncode == 0
    assert handshake("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256").returncode == 0
    assert handshake("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA").returncode != 0, "a CBC suite was accepted"
    # OpenSSL 3 may refuse TLS 1.1 on the client side already (security level); at level 0 it
    # offers it, and nginx must still refuse.
    assert handshake("-tls1_1", "-cipher", "ALL:@SECLEVEL=0").returncode != 0, "TLS 1.1 was accepted"


# --- Orthanc --------------------------------------------------------------------------------


def start_orthanc(image: str, dest: Path, containers: list[str]) -> str:
    container_id = docker(
        "run",
        "-d",
        "--user",
        "orthanc",
        "-v",
        f"{dest / 'orthanc'}:/etc/orthanc:ro",
        image,
        "Orthanc",
        "/etc/orthanc/",
    ).stdout.strip()
    containers.append(container_id)
    wait_for(container_id, ["curl", "-sf", "-o", "/dev/null", f"http://127.0.0.1:{GLOBALS['pacs_port_web']}/system"])
    return container_id


def echo(container_id: str, calling: str, called: str) -> subprocess.CompletedProcess:
    return docker(
        "exec",
        container_id,
        "echoscu",
        "-aet",
        calling,
        "-aec",
        called,
        "127.0.0.1",
        str(GLOBALS["pacs_port_storage"]),
        check=False,
    )


def test_orthanc_runs_the_rendered_configuration(orthanc_image, settings, containers):
    orthanc = start_orthanc(orthanc_image, settings["orthanc"], containers)
    web = f"http://127.0.0.1:{GLOBALS['pacs_port_web']}"
    system = json.loads(docker("exec", orthanc, "curl", "-sf", f"{web}/system").stdout)
    assert (system["DicomAet"], system["DicomPort"], system["HttpPort"]) == (
        GLOBALS["pacs_aet"],
        GLOBALS["pacs_port_storage"],
        GLOBALS["pacs_port_web"],
    )
    modalities = json.loads(docker("exec", orthanc, "curl", "-sf", f"{web}/modalities?expand").stdout)
    by_aet = {entry["AET"]: entry for entry in modalities.values()}
    assert by_aet[GLOBALS["pacs_client_aet"]]["AllowMove"] is True
    assert by_aet[GLOBALS["pacs_client_aet"]]["AllowGet"] is False
    assert by_aet[GLOBALS["pacs_storage_node_aet"]]["Port"] == GLOBALS["pacs_port_move_forward"]

    # The listed caller, on loopback (where the TLS tunnel delivers it), is let in.
    assert echo(orthanc, GLOBALS["pacs_client_aet"], GLOBALS["pacs_aet"]).returncode == 0
    # Unknown caller, wrong called AE title, wrong case: refused at association time.
    for calling, called, reason in (
        ("STRANGER", GLOBALS["pacs_aet"], "Calling AE Title Not Recognized"),
        (GLOBALS["pacs_client_aet"], "NOT-THE-PACS", "Called AE Title Not Recognized"),
        (GLOBALS["pacs_client_aet"].lower(), GLOBALS["pacs_aet"], "Calling AE Title Not Recognized"),
    ):
        result = echo(orthanc, calling, called)
        assert result.returncode != 0 and reason in result.stderr + result.stdout, (calling, called)

    # The listed caller from anywhere but loopback (here: the host, over Docker's bridge) is refused.
    if shutil.which("echoscu"):
        address = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", orthanc).stdout
        from_host = subprocess.run(
            [
                "echoscu",
                "-aet",
                GLOBALS["pacs_client_aet"],
                "-aec",
                GLOBALS["pacs_aet"],
                address.strip(),
                str(GLOBALS["pacs_port_storage"]),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert from_host.returncode != 0 and "Calling AE Title Not Recognized" in from_host.stderr + from_host.stdout

    # DICOMweb URLs follow the client's Host header, with https (the only way in).
    if SAMPLE_DICOM.exists():
        docker("cp", str(SAMPLE_DICOM), f"{orthanc}:/tmp/sample.dcm")
        docker(
            "exec",
            orthanc,
            "curl",
            "-sf",
            "-o",
            "/dev/null",
            "-X",
            "POST",
            "--data-binary",
            "@/tmp/sample.dcm",
            f"{web}/instances",
        )
        studies = json.loads(
            docker(
                "exec", orthanc, "curl", "-sf", "-H", "Host: admin.pacs.internal:8443", f"{web}/dicom-web/studies"
            ).stdout
        )
        url = studies[0]["00081190"]["Value"][0]
        assert url.startswith("https://admin.pacs.internal:8443/dicom-web/studies/")


def test_nginx_fronts_orthanc_in_its_network_namespace(
    nginx_image, orthanc_image, settings, with_login, tls_dir, containers
):
    orthanc = start_orthanc(orthanc_image, settings["orthanc"], containers)
    nginx = start_nginx(nginx_image, with_login("orthanc"), tls_dir, containers, "--network", f"container:{orthanc}")
    assert curl(nginx, "/system")[0] == 401
    status, body = curl(nginx, "/system", "-u", f"{ADMIN_USER}:{ADMIN_PASSWORD}")
    assert status == 200, body
    assert json.loads(body)["DicomAet"] == GLOBALS["pacs_aet"]
    assert curl(nginx, "/healthz")[0] == 200
    # Orthanc Explorer's relative redirect makes it through.
    status, _ = curl(nginx, "/app/explorer.html", "-u", f"{ADMIN_USER}:{ADMIN_PASSWORD}")
    assert status == 200
    # Uploads bigger than nginx's default 1 MB body limit get through.
    docker("exec", nginx, "sh", "-c", "head -c 3000000 /dev/zero > /tmp/big.bin")
    status, _ = curl(
        nginx, "/instances", "-u", f"{ADMIN_USER}:{ADMIN_PASSWORD}", "-X", "POST", "--data-binary", "@/tmp/big.bin"
    )
    assert status != 413, "nginx refused a 3 MB body"
