"""playbooks/ holds the entry points, playbooks/stages/ the stages; --tags selects a stage of the main job."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.ansible_run import ROOT, run_playbook

PLAYBOOKS = ROOT / "playbooks"

# What a user runs (README's table); everything else is a stage.
ENTRY_POINTS = {
    "backup",
    "collect",
    "ingest",
    "lab_down",
    "lab_status",
    "peers",
    "reconfigure",
    "restore",
    "schedule",
    "setup",
    "site",
    "smoke",
    "teardown",
}
# site.yml's stages by tag, and the play names each one runs.
STAGE_TAGS = {
    "peers": ["Check and plan the DICOM peers", "Finish the DICOM peers' change"],
    "pki": ["Ensure the deployment's KMS key, private CA and TLS certificates"],
    # The AWS side makes the deployment's PKI first (stages/aws.yml imports stages/pki.yml).
    "aws": [
        "Pick the controller for the AWS side (aws target only)",
        "Check the AWS variables before any AWS call",
        "Ensure the deployment's KMS key, private CA and TLS certificates",
    ],
    "lab_hosts": ["Run the lab's on-prem host containers"],
    "deploy": ["Deploy the images, the task and the hosts"],
    "smoke": ["Smoke: prepare the test data and certificates", "Smoke: pixel data and admin web, from the controller"],
}


def imports(playbook: Path) -> list[str]:
    plays = yaml.safe_load(playbook.read_text()) or []
    return [play["ansible.builtin.import_playbook"] for play in plays if "ansible.builtin.import_playbook" in play]


def test_playbooks_holds_the_entry_points_and_stages_the_rest():
    assert {path.stem for path in PLAYBOOKS.glob("*.yml")} == ENTRY_POINTS
    stages = {path.name for path in (PLAYBOOKS / "stages").glob("*.yml")}
    assert "hosts.yml" not in stages, "hosts.yml is the inventories' file name"
    imported = set()
    for playbook in [*PLAYBOOKS.glob("*.yml"), *(PLAYBOOKS / "stages").glob("*.yml")]:
        for name in imports(playbook):
            target = (playbook.parent / name).resolve()
            assert target.is_file(), f"{playbook.name} imports {name}, which does not exist"
            imported.add(target.name)
    alone = {"images.yml", "onprem_hosts.yml"}  # the deploy stage's parts, for a run of one part
    assert stages - imported <= alone, f"stages no entry point imports: {sorted(stages - imported - alone)}"


def list_tasks(*arguments: str) -> str:
    run = run_playbook("playbooks/site.yml", "--list-tasks", *arguments, timeout=300)
    assert run.returncode == 0, run.report()
    return run.output


VALIDATION = "Validating arguments against arg spec"


def plays_with_tasks(listing: str) -> set[str]:
    """The plays of a --list-tasks output that would run at least one task of their own.

    Ansible tags the argument-spec validation of every role it meets 'always': it runs under any --tags and
    only checks the role's arguments, so it does not count as running the stage.
    """
    plays, current = set(), None
    for line in listing.splitlines():
        play = re.match(r"\s+play #\d+ \([^)]*\): (.*?)\tTAGS:", line)
        if play:
            current = play.group(1)
        elif (
            current
            and line.startswith("      ")
            and line.strip()
            and "Validating arguments against arg spec" not in line
        ):
            plays.add(current)
    return plays


@pytest.fixture(scope="module")
def every_play():
    return plays_with_tasks(list_tasks())


@pytest.mark.parametrize("tag", sorted(STAGE_TAGS))
def test_a_tag_selects_its_stage_of_the_main_job_and_nothing_else(tag, every_play):
    selected = plays_with_tasks(list_tasks("--tags", tag))
    assert set(STAGE_TAGS[tag]) <= selected, f"--tags {tag} ran {sorted(selected)}"
    others = {play for other, plays in STAGE_TAGS.items() if other != tag for play in plays} - set(STAGE_TAGS[tag])
    assert not selected & others, f"--tags {tag} also ran {sorted(selected & others)}"
    assert selected < every_play
