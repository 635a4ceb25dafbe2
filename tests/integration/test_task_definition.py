"""The lab runs the PACS task's definition as ECS was given it (role pacs_task, lab_pacs_task).

- The definition registered in the emulated ECS names every image by digest, runs every container as a
  non-root user on a read-only root file system with every capability dropped, starts the settings
  container first (the others depend on its success) and mounts the settings contract's paths.
- What runs is that definition: each container's image, user, working directory and environment are
  the definition's, and the secrets arrive as ECS injects them.
- One field changed in the definition (an environment value of the PACS container, through the role's
  input): `--check` says a revision would be registered and changes nothing; the run registers exactly one
  new revision, which the lab runs: the value is in the running container,
  and the smoke checks pass. Taking it out again goes back to the earlier revision (ECS's module finds
  it; nothing is registered) and the value is gone; a full rerun then registers and changes nothing.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from tests.support.ansible_run import run_playbook
from tests.support.lab_aws import lab_client
from tests.support.lab_docker import docker, lab_pacs_engine

ROOT = Path(__file__).resolve().parents[2]
FAMILY = "pacs-lab-pacs"
CONTAINERS = ["settings", "pacs", "nginx", "ghostunnel-storage", "ghostunnel-query", "ghostunnel-move"]
# Dicoogle's task also runs the bulk ingests' indexer (Orthanc has no folder indexer).
INDEXER = ["indexer"]
DIGEST = re.compile(r"^[^@ ]+@sha256:[0-9a-f]{64}$")


def _definition() -> dict:
    """The revision the lab runs (its state file), as ECS returns it."""
    state = json.loads((ROOT / ".lab" / "task" / "state.json").read_text())
    assert state["task_definition"].split("/")[-1].startswith(FAMILY + ":"), state
    return lab_client("ecs").describe_task_definition(taskDefinition=state["task_definition"])["taskDefinition"]


def _running(name: str) -> dict:
    inspected = docker("inspect", f"pacs-lab-{name}")
    assert inspected.returncode == 0, inspected.stderr
    return json.loads(inspected.stdout)[0]


def _env(container: dict) -> dict:
    return dict(item.split("=", 1) for item in container["Config"]["Env"])


def test_the_registered_definition_is_what_the_lab_runs(site_first_run):
    definition = _definition()
    containers = {c["name"]: c for c in definition["containerDefinitions"]}
    assert list(containers) == CONTAINERS + (INDEXER if lab_pacs_engine() == "dicoogle" else [])
    assert definition["networkMode"] == "awsvpc" and definition["requiresCompatibilities"] == ["FARGATE"]
    for name, container in containers.items():
        assert DIGEST.match(container["image"]), f"{name}: {container['image']}"
        assert container["readonlyRootFilesystem"] is True, name
        assert container["linuxParameters"]["capabilities"]["drop"] == ["ALL"], name
        assert not container["linuxParameters"]["capabilities"].get("add"), name
        assert not container["user"].startswith("0"), name
        if name == "indexer":
            # After the PACS (after the settings), beside it; its end does not end the task.
            assert container["dependsOn"] == [{"containerName": "pacs", "condition": "START"}]
            assert container["essential"] is False
        elif name != "settings":
            assert {"containerName": "settings", "condition": "SUCCESS"} in container.get("dependsOn", []) or (
                name.startswith("ghostunnel")
            ), name
    assert containers["settings"]["essential"] is False
    assert [s["name"] for s in containers["settings"]["secrets"]] == ["PACS_SETTINGS_BUNDLE"]
    # nginx reads its configuration from the settings access point, read-only; Dicoogle can write it nowhere.
    nginx_mounts = {m["containerPath"]: m for m in containers["nginx"]["mountPoints"]}
    assert nginx_mounts["/etc/pacs-settings"]["readOnly"] is True
    pacs_mounts = {m["containerPath"]: m for m in containers["pacs"]["mountPoints"]}
    assert pacs_mounts["/etc/pacs-settings"]["readOnly"] is True
    # The TLS files the wrapper writes are the ones the rendered nginx configuration reads.
    conf = docker("exec", "pacs-lab-nginx", "cat", "/etc/pacs-settings/nginx/nginx.conf").stdout
    assert "ssl_certificate /run/pacs-tls/tls.crt;" in conf and "ssl_certificate_key /run/pacs-tls/tls.key;" in conf
    assert "/run/pacs-tls" in containers["nginx"]["entryPoint"][2]

    for name, container in containers.items():
        running = _running(name)
        assert running["Config"]["Image"] == container["image"], name
        assert running["Config"]["User"] == container["user"], name
        assert running["HostConfig"]["ReadonlyRootfs"] is True, name
        env = _env(running)
        for pair in container.get("environment", []):
            assert env.get(pair["name"]) == pair["value"], f"{name}: {pair['name']}"
        assert {s["name"] for s in container.get("secrets", [])} <= set(env), name
        if container.get("workingDirectory"):
            assert running["Config"]["WorkingDir"] == container["workingDirectory"], name
    settings = _running("settings")
    assert settings["State"]["Running"] is False and settings["State"]["ExitCode"] == 0
    assert _env(settings)["PACS_SETTINGS_DIGEST"] in docker("logs", "pacs-lab-settings").stdout


def _revisions() -> list[str]:
    ecs = lab_client("ecs")
    return ecs.list_task_definitions(familyPrefix=FAMILY, status="ACTIVE")["taskDefinitionArns"]


def test_a_changed_field_registers_one_revision_that_the_lab_runs(site_first_run):
    before = _revisions()
    mark = uuid.uuid4().hex
    extra = json.dumps({"pacs_task_environment_extra": {"PACS_TEST_MARK": mark}})
    # --check says what would change and changes nothing (no revision is registered to run).
    checked = run_playbook("playbooks/stages/pacs_task.yml", "--check", "-e", extra)
    assert checked.returncode == 0, checked.report()
    assert "a run would register a new revision of pacs-lab-pacs" in checked.output, checked.report()
    assert _revisions() == before
    assert "PACS_TEST_MARK" not in _env(_running("pacs"))
    changed = run_playbook(
        "playbooks/stages/pacs_task.yml", "-e", json.dumps({"pacs_task_environment_extra": {"PACS_TEST_MARK": mark}})
    )
    assert changed.returncode == 0, changed.report()
    try:
        assert len(_revisions()) == len(before) + 1, "one changed field, one new revision"
        definition = _definition()
        pacs = next(c for c in definition["containerDefinitions"] if c["name"] == "pacs")
        assert {"name": "PACS_TEST_MARK", "value": mark} in pacs["environment"]
        assert _env(_running("pacs"))["PACS_TEST_MARK"] == mark
        smoke = run_playbook("playbooks/smoke.yml")
        assert smoke.returncode == 0, smoke.report()
    finally:
        back = run_playbook("playbooks/stages/pacs_task.yml")
    assert back.returncode == 0, back.report()
    # Back to the earlier definition: ECS's module finds its revision and registers none.
    assert len(_revisions()) == len(before) + 1
    assert "PACS_TEST_MARK" not in _env(_running("pacs"))
    again = run_playbook("playbooks/stages/pacs_task.yml", "-e", "pacs_full_converge=true")
    assert again.returncode == 0, again.report()
    assert len(_revisions()) == len(before) + 1, "an unchanged definition registered a new revision"
    assert again.changed == 0, again.report()
