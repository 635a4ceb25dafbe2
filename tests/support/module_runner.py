"""Run an Ansible module's main() in this process and read its JSON result.

ansible-core's own test hook (`ansible.module_utils.testing.patch_module_args`) hands the arguments to
AnsibleModule the way AnsiballZ would; the module prints its result as JSON on stdout and leaves through
SystemExit, which is caught here.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
from collections.abc import Callable, Iterator
from unittest import mock

import botocore.loaders
import botocore.session
from ansible.module_utils.testing import patch_module_args

# moto's dummy credentials and region; the variables that could point boto3 at a real endpoint are removed.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",  # noqa: S105 - moto's dummy credential
    "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S105 - moto's dummy credential
    "AWS_SESSION_TOKEN": "testing",  # noqa: S105 - moto's dummy credential
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
_ENDPOINT_VARS = ("AWS_URL", "EC2_URL", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")


class ModuleResult(dict):
    """A module's result dict, with the exit code it left with."""

    exit_code: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.get("failed")) or self.exit_code != 0

    @property
    def changed(self) -> bool:
        return bool(self.get("changed"))


def run_module(main: Callable[[], None], args: dict, *, check_mode: bool = False, no_log: bool = False) -> ModuleResult:
    """Run main() with `args` as the task's module arguments; return its parsed result."""
    module_args = dict(args)
    if check_mode:
        module_args["_ansible_check_mode"] = True
    if no_log:
        module_args["_ansible_no_log"] = True
    out = io.StringIO()
    exit_code = 0
    with patch_module_args(module_args), contextlib.redirect_stdout(out):
        try:
            main()
        except SystemExit as exc:
            exit_code = exc.code if isinstance(exc.code, int) else 1
    text = out.getvalue().strip()
    if not text:
        raise AssertionError(f"the module printed nothing (exit {exit_code})")
    result = ModuleResult(json.loads(text.splitlines()[-1]))
    result.exit_code = exit_code
    return result


def ok(main: Callable[[], None], args: dict, **kwargs) -> ModuleResult:
    """run_module(), asserting that the module did not fail."""
    result = run_module(main, args, **kwargs)
    assert not result.failed, f"module failed: {result.get('msg')}"
    return result


@functools.cache
def _shared_loader(data_path):
    return botocore.loaders.create_loader(data_path)


@contextlib.contextmanager
def shared_botocore_loader() -> Iterator[None]:
    """One botocore data loader for every session: each module run makes a new boto3 session, and reading
    the service model JSON again each time (seconds for EC2) would dominate the tests' run time."""
    with mock.patch.object(botocore.session, "create_loader", _shared_loader):
        yield


@contextlib.contextmanager
def fake_aws_env() -> Iterator[None]:
    """moto's dummy credentials in the environment; nothing that points at a real endpoint or profile."""
    cleared = {name: "" for name in _ENDPOINT_VARS}
    with mock.patch.dict(os.environ, {**cleared, **FAKE_AWS_ENV}):
        for name in _ENDPOINT_VARS:
            os.environ.pop(name, None)
        yield


@contextlib.contextmanager
def mocked_aws() -> Iterator[None]:
    """moto's in-process AWS (with the project's moto extensions applied) and fake credentials."""
    from moto import mock_aws

    import lab_emulator  # noqa: F401 - applies the extensions to moto's response classes

    with fake_aws_env(), shared_botocore_loader(), mock_aws():
        yield
