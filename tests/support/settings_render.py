"""Run the pacs_settings role through tests/playbooks/render_pacs_settings.yml, for the unit tests.

The session fixture that shares renders between test files is in tests/unit/conftest.py.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.support.ansible_run import PlaybookRun, run_playbook

PLAYBOOK = "tests/playbooks/render_pacs_settings.yml"


@dataclass(frozen=True)
class Render:
    """A folder the role rendered into, and the run that did it."""

    dest: Path
    run: PlaybookRun


def render_into(dest: Path, users: dict, *extra: str, outputs: Path | None = None) -> PlaybookRun:
    """Run the role into dest with the lab inventory, the given admin users and extra arguments."""
    users_file = dest.parent / f"{dest.name}.users.json"
    users_file.write_text(json.dumps(users))
    users_file.chmod(0o600)
    args = ["-e", f"pacs_settings_dest={dest}", "-e", f"@{users_file}"]
    if outputs is not None:
        args += ["-e", f"pacs_settings_test_outputs={outputs}"]
    # A hang guard: a render takes 15-50 s, more when the unit lane runs niced beside the others.
    return run_playbook(PLAYBOOK, *args, *extra, timeout=900)


def copy_of(render: Render, target: Path) -> Path:
    """A private copy of a rendered folder for a test that renders into it again.

    Modes, times and owners are kept (the role sets a group on some files), so the copy is as
    converged as the original.
    """
    dest = target / "settings"
    shutil.copytree(render.dest, dest)
    for source in (render.dest, *render.dest.rglob("*")):
        info = source.lstat()
        os.chown(dest / source.relative_to(render.dest), info.st_uid, info.st_gid, follow_symlinks=False)
    return dest


def refuse_cases(workdir: Path, users: dict, cases: dict[str, dict]) -> tuple[PlaybookRun, dict[str, Path]]:
    """Run the role once per case, all in one ansible-playbook run; returns the run and each case's folder.

    Each case is a play of its own, with the users and the case's variables as play variables
    (above the inventory's, as extra variables would be), rendering into a folder of its own. A
    refusal is rescued, and the failed task's name and messages written as JSON to that folder's sibling
    ``<folder>.refusal.json``, so that one playbook start serves every case. A case the role
    accepts leaves no such file.
    """
    plays = []
    folders = {}
    for number, (name, variables) in enumerate(cases.items()):
        dest = workdir / f"case{number}" / "settings"
        dest.mkdir(parents=True)
        folders[name] = dest
        plays.append(
            {
                "name": f"Bad input: {name}",
                "hosts": "controller",
                "gather_facts": False,
                "vars": {**users, **variables, "pacs_settings_dest": str(dest)},
                "tasks": [
                    {
                        "name": "Run the role and keep its refusal",
                        "block": [{"name": "Render", "ansible.builtin.include_role": {"name": "pacs_settings"}}],
                        "rescue": [
                            {
                                "name": "Record the refusal",
                                "ansible.builtin.copy": {
                                    # The messages only (not the argument spec the result also holds).
                                    "content": (
                                        "{{ {'task': ansible_failed_task.name,"
                                        " 'msg': ansible_failed_result.msg | default(''),"
                                        " 'errors': ansible_failed_result.argument_errors | default([])}"
                                        " | to_nice_json }}\n"
                                    ),
                                    "dest": f"{dest}.refusal.json",
                                    "mode": "0600",
                                },
                            }
                        ],
                    }
                ],
            }
        )
    playbook = workdir / "refusals.yml"
    playbook.write_text(json.dumps(plays, indent=1))  # JSON is YAML
    return run_playbook(str(playbook), timeout=900), folders
