"""Fixtures shared by the unit tests.

`settings_render` runs the pacs_settings role once per distinct set of arguments in a test session
(per pytest-xdist worker) and hands the same rendered folder (and that run's output) to every test
that asks for it. One run of the role costs tens of seconds on a small machine, so
test_pacs_settings_render.py and test_pacs_settings_live.py share these renders instead of making
their own. A test that writes into a rendered folder must copy it first
(tests.support.settings_render.copy_of).

`emulator_url` is the URL of the lab's AWS emulator (lab_emulator/server.py, moto with the project's
extensions) started for the test module that asks for it on a free loopback port, and stopped by its pid
after the module's last test (tests.support.moto_server). Its state is shared by the module's tests: each
one that needs a clean account resets it (tests.support.moto_server.reset).

The unit tests pin their own inputs: the Dicoogle archive variables that the lab's
environment may carry (PACS_DICOOGLE_ARCHIVE, its checksum and version, exported by .ci/run)
are removed before any test starts, so a render's Dicoogle version is the role's default or
the one a test names, never the one of the shell that ran pytest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator

import pytest

from tests.support.moto_server import ServerDidNotStart, emulator
from tests.support.settings_render import Render, render_into

for _name in [name for name in os.environ if name.startswith("PACS_DICOOGLE_")]:
    del os.environ[_name]


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


@pytest.fixture(scope="module")
def emulator_url(tmp_path_factory) -> Iterator[str]:
    """The lab's AWS emulator on a free loopback port for this test module: its URL (http://127.0.0.1:<port>)."""
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    try:
        with emulator(log) as url:
            yield url
    except ServerDidNotStart as error:
        pytest.fail(str(error))
