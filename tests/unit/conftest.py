"""Fixtures shared by the unit tests.

`settings_render` runs the pacs_settings role once per distinct set of arguments in a test session
and hands the same rendered folder (and that run's output) to every test that asks for it. One run of
the role costs tens of seconds on a small machine, so test_pacs_settings_render.py and
test_pacs_settings_live.py share these renders instead of making their own. A test that writes into
a rendered folder must copy it first (`copy_of`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.ansible_run import PlaybookRun, run_playbook

PLAYBOOK = "tests/playbooks/render_pacs_settings.yml"


@dataclass(frozen=True)
class Render:
    """A folder the role rendered into, and the run that did it."""

    dest: Path
    run: PlaybookRun

    @property
    def outputs(self) -> dict:
        return json.loads((self.dest.parent / "outputs.json").read_text())


def render_into(dest: Path, users: dict, *extra: str, outputs: Path | None = None) -> PlaybookRun:
    """Run the role into dest with the lab inventory, the given admin users and extra arguments."""
    users_file = dest.parent / f"{dest.name}.users.json"
    users_file.write_text(json.dumps(users))
    users_file.chmod(0o600)
    args = ["-e", f"pacs_settings_dest={dest}", "-e", f"@{users_file}"]
    if outputs is not None:
        args += ["-e", f"pacs_settings_test_outputs={outputs}"]
    return run_playbook(PLAYBOOK, *args, *extra, timeout=300)


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


@pytest.fixture(scope="session")
def settings_render(tmp_path_factory) -> Callable[..., Render]:
    """render(users, *extra): the role's render with these arguments, run once per session.

    Every render is verbose with diffs (-v --diff), so that its output can be searched for secrets.
    """
    done: dict[tuple, Render] = {}

    def render(users: dict, *extra: str) -> Render:
        key = (json.dumps(users, sort_keys=True), *extra)
        if key not in done:
            base = tmp_path_factory.mktemp("render")
            dest = base / "settings"
            dest.mkdir()
            run = render_into(dest, users, "-v", "--diff", *extra, outputs=base / "outputs.json")
            assert run.returncode == 0, run.report()
            done[key] = Render(dest, run)
        return done[key]

    return render
