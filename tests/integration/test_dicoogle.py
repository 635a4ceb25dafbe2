"""The real Dicoogle in the lab (the archive supplied through PACS_DICOOGLE_ARCHIVE; tests/run_all.sh's
integration gate runs the whole suite on it).

- The main job built and runs Dicoogle (no fallback), from its persistent working directory.
- No default login: Dicoogle's `dicoogle`/`dicoogle` administrator is refused through the admin web;
  the deployment's administrator (its password from Secrets Manager) logs in.
- Dicoogle's own view of its settings, read over REST, is what the project rendered: AE title, the
  storage and query ports bound to loopback, the move destination, the index and storage roots.
- Where it keeps things: instances stored through the TLS edge land on the images volume and in the
  index volume; the PACS container is removed and made again by the main job, and every instance
  and the users file are still there.
- The project's REST client (module_utils/pacs_rest.py, what bulk ingest indexes with) against the
  running engine: login, an index task started, followed and closed, search.

Without the archive the lab runs Orthanc (the fallback, said loudly by the main job) and this module is
skipped with that reason; the integration gate then covers the lab on Orthanc.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from module_utils.pacs_rest import DicoogleClient, PacsRestError
from tests.support.ansible_run import ROOT, run_playbook
from tests.support.lab_admin import DEPLOYMENT, admin_rest
from tests.support.lab_aws import lab_client
from tests.support.lab_docker import docker
from tests.support.synthetic_dicom import generate

GLOBALS = yaml.safe_load((ROOT / "group_vars" / "all" / "pacs.yml").read_text())
VOLUMES = Path("/var/lib/docker/volumes")
CLIENT_HOST = "pacs-lab-client"
REMOTE = "/root/dicoogle-test"
INSTANCES = 12

pytestmark = pytest.mark.skipif(
    not os.environ.get("PACS_DICOOGLE_ARCHIVE"),
    reason="NOT RUN: no Dicoogle archive (PACS_DICOOGLE_ARCHIVE unset): the lab runs the Orthanc fallback",
)


@pytest.fixture(scope="module")
def lab(site_first_run):
    assert site_first_run.returncode == 0, "the lab did not come up:\n" + site_first_run.report()
    assert "WARNING: PACS ENGINE FALLBACK" not in site_first_run.output, site_first_run.report()
    return site_first_run


@pytest.fixture()
def rest(lab, tmp_path):
    return admin_rest(tmp_path)


def _form(**fields: str) -> bytes:
    return urllib.parse.urlencode(fields).encode()


def _admin() -> dict:
    """The deployment's first administrator {name, password}, from the lab's Secrets Manager."""
    secret = lab_client("secretsmanager").get_secret_value(SecretId=f"{DEPLOYMENT}/admin-web/users")
    return json.loads(secret["SecretString"])["users"][0]


def _login(rest, username: str, password: str):
    return rest.request(
        "POST",
        "/login",
        body=_form(username=username, password=password),
        content_type="application/x-www-form-urlencoded",
    )


def test_the_main_job_runs_dicoogle_from_its_working_directory(lab):
    container = json.loads(docker("inspect", "pacs-lab-pacs").stdout)[0]
    assert container["Config"]["Labels"]["io.pacs.engine"] == "dicoogle"
    assert container["Config"]["Entrypoint"] == ["/usr/local/bin/pacs-dicoogle-start"]
    mounts = {mount["Destination"]: mount["Name"] for mount in container["Mounts"] if mount["Type"] == "volume"}
    # The access points' volumes, and the task storage of /tmp (an anonymous volume: read-only root).
    assert container["HostConfig"]["ReadonlyRootfs"] is True
    assert not mounts.pop("/tmp").startswith("pacs-lab-"), mounts  # noqa: S108 - a path in the container
    assert mounts == {
        "/etc/pacs-settings": "pacs-lab-confs",
        "/var/lib/dicoogle": "pacs-lab-users",
        "/srv/pacs/images": "pacs-lab-images",
        "/srv/pacs/index": "pacs-lab-index",
    }
    top = docker("top", "pacs-lab-pacs", "-o", "pid,uid,args").stdout.splitlines()
    java = [line for line in top if "dicoogle.jar" in line]
    assert len(java) == 1 and java[0].split()[1] == "1001", top


def test_the_default_administrator_is_refused_and_the_deployments_logs_in(rest):
    # Through the admin web (nginx's login first), as an operator would try it.
    with pytest.raises(PacsRestError) as refused:
        _login(rest, "dicoogle", "dicoogle")
    assert refused.value.status == 401
    admin = _admin()
    mine = _login(rest, admin["name"], admin["password"]).json()
    assert mine["user"] == admin["name"] and mine["admin"] is True
    users = (VOLUMES / "pacs-lab-users" / "_data" / "users.xml").read_text()
    assert 'username="dicoogle"' not in users and f'username="{admin["name"]}"' in users
    assert admin["password"] not in users


def test_dicoogles_own_view_of_its_settings_is_what_was_rendered(rest):
    assert rest.json("GET", "/management/settings/dicom")["aetitle"] == GLOBALS["pacs_aet"]
    storage = rest.json("GET", "/management/dicom/storage")
    query = rest.json("GET", "/management/dicom/query")
    assert (storage["isRunning"], storage["port"], storage["hostname"]) == (
        True,
        GLOBALS["pacs_port_storage"],
        "127.0.0.1",
    )
    assert (query["isRunning"], query["port"], query["hostname"]) == (True, GLOBALS["pacs_port_query"], "127.0.0.1")
    destinations = rest.json("GET", "/management/settings/storage/dicom")
    node = [d for d in destinations if d["AETitle"] == GLOBALS["pacs_storage_node_aet"]]
    assert len(node) == 1 and node[0]["ipAddrs"] == "127.0.0.1", destinations
    rendered = VOLUMES / "pacs-lab-confs" / "_data" / "Plugins" / "settings"
    assert "<root-dir>/srv/pacs/images</root-dir>" in (rendered / "file-storage.xml").read_text()
    assert "<path>/srv/pacs/index/</path>" in (rendered / "luceneset.xml").read_text()
    assert "lucene" in rest.json("GET", "/providers")
    assert not rest.json("GET", "/plugins").get("dead"), "a Dicoogle plugin is dead"


def _indexed(rest, study_uid: str) -> int:
    found = rest.json("GET", "/search", query={"query": f'StudyInstanceUID:"{study_uid}"', "provider": "lucene"})
    return found["numResults"]


def test_images_and_index_outlive_the_container(lab, rest, tmp_path):
    made = generate(
        tmp_path / "in", INSTANCES, size=16 * 1024, studies=1, series_per_study=1, seed=f"dc{int(time.time())}"
    )
    (study_uid,) = {item.study_instance_uid for item in made}
    sop_files = {f"{item.sop_instance_uid}.dcm" for item in made}
    docker("exec", CLIENT_HOST, "rm", "-rf", REMOTE)
    assert docker("cp", str(tmp_path / "in"), f"{CLIENT_HOST}:{REMOTE}").returncode == 0
    stored = docker("exec", CLIENT_HOST, "pacs-dicom", "store", REMOTE, timeout=300)
    assert stored.returncode == 0, stored.stdout + stored.stderr
    deadline = time.monotonic() + 60
    while _indexed(rest, study_uid) < INSTANCES and time.monotonic() < deadline:
        time.sleep(1)
    assert _indexed(rest, study_uid) == INSTANCES
    # <root>/<institution>/<modality>/<yyyy>/<mm>/<dd>/<accession or study UID>/<SOP instance UID>.dcm
    images = VOLUMES / "pacs-lab-images" / "_data"
    assert {path.name for path in images.rglob("*.dcm")} >= sop_files
    users_before = (VOLUMES / "pacs-lab-users" / "_data" / "users.xml").read_text()
    refs = _running_refs()

    assert docker("rm", "--force", "pacs-lab-pacs").returncode == 0
    again = run_playbook(
        "playbooks/stages/pacs_task.yml",
        "-e",
        json.dumps({"container_images_pacs_engine_effective": "dicoogle", "container_images_digests": refs}),
    )
    assert again.returncode == 0, again.report()
    assert _indexed(admin_rest(tmp_path), study_uid) == INSTANCES
    assert {path.name for path in images.rglob("*.dcm")} >= sop_files
    assert (VOLUMES / "pacs-lab-users" / "_data" / "users.xml").read_text() == users_before
    found = docker("exec", CLIENT_HOST, "pacs-dicom", "find", "--study-uid", study_uid, timeout=120)
    assert found.returncode == 0 and study_uid in found.stdout + found.stderr, found.stdout + found.stderr


def _running_refs() -> dict:
    """The images the lab's task runs now, by the containers that run them."""
    return {
        image: json.loads(docker("inspect", container).stdout)[0]["Config"]["Image"]
        for image, container in (
            ("pacs", "pacs-lab-pacs"),
            ("nginx", "pacs-lab-nginx"),
            ("ghostunnel", "pacs-lab-ghostunnel-storage"),
        )
    }


def test_the_projects_rest_client_indexes_and_finds_on_the_running_dicoogle(lab, tmp_path):
    # Every call of DicoogleClient.CALLS, on the real engine behind the admin web: login, an index task
    # started on files Dicoogle has never seen (put on the images volume as bulk ingest lands them),
    # followed and closed, search.
    made = generate(tmp_path / "in", 3, size=8 * 1024, studies=1, series_per_study=1, seed=f"rc{int(time.time())}")
    (study_uid,) = {item.study_instance_uid for item in made}
    landed = VOLUMES / "pacs-lab-images" / "_data" / "froms3" / f"rest-client-{study_uid}"
    landed.mkdir(parents=True)
    for path in sorted((tmp_path / "in").rglob("*.dcm")):
        (landed / path.name).write_bytes(path.read_bytes())
    for path in [landed.parent, landed, *landed.iterdir()]:
        os.chown(path, 1001, 1001)
    admin = _admin()
    client = DicoogleClient(admin_rest(tmp_path), login=admin["name"], password=admin["password"])
    result = client.index(f"file:/srv/pacs/images/froms3/{landed.name}/", timeout=300, poll_interval=0.5)
    assert result["finished"] and result["errors"] == 0 and result["indexed"] == 3, result
    assert client.token, "no session token from Dicoogle's login"
    started = {task["uid"] for task in result["tasks"]}
    assert [task for task in client.index_tasks() if task.get("uid") in started] == [], "finished tasks not closed"
    found, missing = client.find_studies([study_uid, "1.2.3.4.5.6.7.8.9"])
    assert (found, missing) == ([study_uid], ["1.2.3.4.5.6.7.8.9"])
    assert client.search(f'StudyInstanceUID:"{study_uid}"', dim=True)["results"]
