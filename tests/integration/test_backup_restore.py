"""Backup and restore against the lab (playbooks/backup.yml, restore.yml; role pacs_backup).

200 synthetic instances (4 studies, fresh UIDs) are stored through the TLS edge and backed up; 20 more (a
fifth study) are stored after the backup and the hourly catalog is taken; then the PACS's disk is lost: the
task's containers and every volume it ran on are removed. The restore must bring back exactly the 200:
every study of the backup found by C-FIND, every instance back by C-MOVE at the storage node with
byte-identical pixel data, the fifth study gone, and the restore's report naming the 20 lost instances.
The smoke checks pass on the restored PACS, and a second restore of the same backup changes nothing. A
backup with one byte changed in one object is refused before anything changes, naming the file.

This module removes the PACS's volumes: conftest.py runs it after every other integration test.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pydicom
import pytest

from tests.support.ansible_run import ROOT, run_playbook
from tests.support.lab_admin import stored_instances
from tests.support.lab_aws import lab_client
from tests.support.lab_docker import docker
from tests.support.synthetic_dicom import Instance, generate

CLIENT_HOST = "pacs-lab-client"
STORAGE_HOST = "pacs-lab-storage"
STORAGE_DIR = "/var/lib/dicom-storage"
TASK = "pacs-lab"
BACKED_UP, AFTER = 200, 20
REPORTS = ROOT / "reports"
BUCKET = "pacs-lab-backups-123456789012-us-east-1"


def backup_id() -> str:
    time.sleep(1.1)  # ids are whole seconds
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def store(folder: Path, remote: str) -> None:
    docker("exec", CLIENT_HOST, "rm", "-rf", remote)
    assert docker("cp", str(folder), f"{CLIENT_HOST}:{remote}").returncode == 0
    stored = docker("exec", CLIENT_HOST, "pacs-dicom", "store", remote, timeout=600)
    assert stored.returncode == 0, stored.stdout + stored.stderr


def wait_held(instances: list[Instance], folder: Path) -> None:
    """Until the PACS's index holds every instance of each study (Dicoogle indexes after it answers)."""
    for study in sorted({item.study_instance_uid for item in instances}):
        want = sum(1 for item in instances if item.study_instance_uid == study)
        deadline = time.monotonic() + 120
        while len(stored_instances(study, folder)) < want and time.monotonic() < deadline:
            time.sleep(1)
        assert len(stored_instances(study, folder)) == want, study


def found_studies(study_uid: str) -> list[str]:
    found = docker("exec", CLIENT_HOST, "pacs-dicom", "find", "--study-uid", study_uid, timeout=120)
    assert found.returncode == 0, found.stdout + found.stderr
    return [line for line in found.stdout.splitlines() if study_uid in line]


def task_volumes() -> dict[str, str]:
    """{container path: volume name} of the running PACS container's access points (not its task storage)."""
    mounts = json.loads(docker("inspect", f"{TASK}-pacs").stdout)[0]["Mounts"]
    return {m["Destination"]: m["Name"] for m in mounts if m["Type"] == "volume" and m["Name"].startswith(f"{TASK}-")}


def report(kind: str, ident: str) -> dict:
    return json.loads((REPORTS / f"{kind}-{TASK}-{ident}.json").read_text())


@pytest.fixture(scope="module")
def lab(site_first_run):
    assert site_first_run.returncode == 0, "the lab did not come up:\n" + site_first_run.report()


@pytest.fixture(scope="module")
def story(lab, tmp_path_factory):
    """Store 200, back up, store 20, catalog, lose the disk, restore."""
    root = tmp_path_factory.mktemp("backup")
    seed = f"bk{int(time.time())}"
    kept = generate(root / "kept", BACKED_UP, size=32 * 1024, studies=4, series_per_study=2, seed=seed + "a")
    late = generate(root / "late", AFTER, size=32 * 1024, studies=1, series_per_study=1, seed=seed + "b")
    store(root / "kept", "/root/backup-kept")
    wait_held(kept, root)

    ident = backup_id()
    backed_up = run_playbook("playbooks/backup.yml", "-e", f"pacs_backup_id={ident}")
    assert backed_up.returncode == 0, backed_up.report()

    store(root / "late", "/root/backup-late")
    wait_held(late, root)
    catalog = run_playbook("playbooks/backup.yml", "-e", "backup_catalog=true")
    assert catalog.returncode == 0, catalog.report()

    # The lost disk: the task's containers and every volume its PACS ran on.
    lost = sorted(set(task_volumes().values()))
    names = docker("ps", "--all", "--quiet", "--filter", f"label=io.pacs.lab.task={TASK}").stdout.split()
    assert names and docker("rm", "--force", *names).returncode == 0
    for volume in lost:
        assert docker("volume", "rm", volume).returncode == 0, volume

    restored = run_playbook("playbooks/restore.yml", "-e", f"backup={ident}")
    return {
        "root": root,
        "kept": kept,
        "late": late,
        "id": ident,
        "lost_volumes": lost,
        "backup": backed_up,
        "restore": restored,
    }


def test_the_backup_has_a_manifest_of_every_file_and_instance(story):
    assert story["backup"].returncode == 0, story["backup"].report()
    made = report("backup", story["id"])
    assert made["new"] and made["engine"] in ("dicoogle", "orthanc")
    assert made["summary"]["instance_count"] >= BACKED_UP and made["summary"]["file_count"] > 0
    assert made["pause_seconds"] > 0 and f"{TASK}-pacs" in made["paused_containers"]
    manifest = json.loads(
        lab_client("s3").get_object(Bucket=BUCKET, Key=f"backups/{story['id']}/manifest.json")["Body"].read()
    )
    assert {item.sop_instance_uid for item in story["kept"]} <= set(manifest["instances"])
    assert not {item.sop_instance_uid for item in story["late"]} & set(manifest["instances"])
    assert all(len(entry["sha256"]) == 64 and entry["size"] >= 0 for entry in manifest["files"])
    head = lab_client("s3").head_object(Bucket=BUCKET, Key=f"backups/{story['id']}/manifest.json")
    assert head["ServerSideEncryption"] == "aws:kms"
    # A backup id is written once: the same id again copies nothing and changes nothing.
    again = run_playbook("playbooks/backup.yml", "-e", f"pacs_backup_id={story['id']}")
    assert again.returncode == 0 and again.recap["localhost"]["changed"] == 0, again.report()
    assert not report("backup", story["id"])["new"]


def test_the_restore_brings_back_exactly_the_backed_up_studies(story):
    assert story["restore"].returncode == 0, story["restore"].report()
    volumes = task_volumes()
    assert sorted(volumes.values()) == sorted(
        f"{TASK}-{point}-r{story['id']}" for point in ("confs", "images", "index", "users")
    )
    for study in sorted({item.study_instance_uid for item in story["kept"]}):
        assert len(found_studies(study)) == 1, study
        held = stored_instances(study, story["root"])
        assert len(held) == sum(1 for item in story["kept"] if item.study_instance_uid == study), study
    (late_study,) = {item.study_instance_uid for item in story["late"]}
    assert found_studies(late_study) == []
    assert stored_instances(late_study, story["root"]) == []


def test_every_restored_instance_comes_back_by_cmove_with_identical_pixels(story, tmp_path):
    assert story["restore"].returncode == 0, story["restore"].report()
    for study in sorted({item.study_instance_uid for item in story["kept"]}):
        moved = docker("exec", CLIENT_HOST, "pacs-dicom", "move", study, "STORAGE-NODE", timeout=300)
        assert moved.returncode == 0, moved.stdout + moved.stderr
    received = {
        name.split(".", 1)[1]: name
        for name in docker("exec", STORAGE_HOST, "ls", STORAGE_DIR).stdout.split()
        if "." in name
    }
    missing = [item.sop_instance_uid for item in story["kept"] if item.sop_instance_uid not in received]
    assert missing == [], f"{len(missing)} of {BACKED_UP} did not arrive, e.g. {missing[:3]}"
    for item in story["kept"]:
        copy = tmp_path / item.sop_instance_uid
        source = f"{STORAGE_HOST}:{STORAGE_DIR}/{received[item.sop_instance_uid]}"
        assert docker("cp", source, str(copy)).returncode == 0
        assert pydicom.dcmread(copy).PixelData == pydicom.dcmread(item.path).PixelData, item.sop_instance_uid


def test_the_report_names_the_instances_stored_after_the_backup(story):
    assert story["restore"].returncode == 0, story["restore"].report()
    made = report("restore", story["id"])
    assert made["restored_now"] and made["lost_source"].startswith("catalog ")
    assert made["lost_instances"] == sorted(item.sop_instance_uid for item in story["late"])
    assert made["checked_files"] > 0 and made["studies_found"] == len(made["studies"])
    text = (REPORTS / f"restore-{TASK}-{story['id']}.md").read_text()
    assert all(item.sop_instance_uid in text for item in story["late"])


def test_smoke_checks_pass_on_the_restored_pacs(story):
    assert story["restore"].returncode == 0, story["restore"].report()
    smoke = run_playbook("playbooks/smoke.yml")
    assert smoke.returncode == 0, smoke.report()


def test_a_second_restore_of_the_same_backup_changes_nothing(story):
    assert story["restore"].returncode == 0, story["restore"].report()
    before = task_volumes()
    again = run_playbook("playbooks/restore.yml", "-e", f"backup={story['id']}")
    assert again.returncode == 0, again.report()
    assert again.recap["localhost"]["changed"] == 0, again.report()
    assert task_volumes() == before
    assert not report("restore", story["id"])["restored_now"]


def test_a_damaged_backup_is_refused_before_anything_changes(story):
    assert story["restore"].returncode == 0, story["restore"].report()
    ident = backup_id()
    made = run_playbook("playbooks/backup.yml", "-e", f"pacs_backup_id={ident}")
    assert made.returncode == 0, made.report()
    s3 = lab_client("s3")
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"backups/{ident}/manifest.json")["Body"].read())
    victim = next(f for f in manifest["files"] if f["access_point"] == "images" and f["size"] > 1000)
    key = f"backups/{ident}/images/{victim['path']}"
    body = bytearray(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0x01
    s3.put_object(Bucket=BUCKET, Key=key, Body=bytes(body))
    before = task_volumes()
    state = (ROOT / ".lab/task/storage.json").read_text()

    refused = run_playbook("playbooks/restore.yml", "-e", f"backup={ident}")
    assert refused.returncode != 0
    assert f"images/{victim['path']} differs from its manifest" in refused.output, refused.report()
    assert task_volumes() == before
    assert (ROOT / ".lab/task/storage.json").read_text() == state
    leftovers = docker("volume", "ls", "--quiet", "--filter", f"label=io.pacs.backup={ident}").stdout.split()
    assert leftovers == []


def test_a_restore_under_a_running_pacs_moves_it_and_names_what_its_storage_loses(story, tmp_path):
    """Not a lost disk this time: the storage the restore replaces is there and says what is lost."""
    assert story["restore"].returncode == 0, story["restore"].report()
    ident = backup_id()
    made = run_playbook("playbooks/backup.yml", "-e", f"pacs_backup_id={ident}")
    assert made.returncode == 0, made.report()
    extra = generate(tmp_path / "extra", 1, size=16 * 1024, studies=1, series_per_study=1, seed=f"bx{int(time.time())}")
    store(tmp_path / "extra", "/root/backup-extra")
    wait_held(extra, tmp_path)
    before = task_volumes()

    restored = run_playbook("playbooks/restore.yml", "-e", f"backup={ident}")
    assert restored.returncode == 0, restored.report()
    after = task_volumes()
    assert sorted(after.values()) == sorted(f"{TASK}-{p}-r{ident}" for p in ("confs", "images", "index", "users"))
    assert all(docker("volume", "inspect", name).returncode == 0 for name in before.values())  # kept
    made = report("restore", ident)
    assert made["lost_instances"] == [extra[0].sop_instance_uid]
    assert made["lost_source"].startswith("storage ")
    assert stored_instances(extra[0].study_instance_uid, tmp_path) == []
