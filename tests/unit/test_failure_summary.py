"""callback_plugins/pacs_failure_summary.py: the cause a failed run ends with (plain Python)."""

from __future__ import annotations

from tests.support.plugins import load_plugin

summary = load_plugin("callback_plugins/pacs_failure_summary.py", "pacs_failure_summary")

BUILD_ERROR = (
    "Error building 127.0.0.1:5001/pacs-lab/nginx - code: 4, message: The command '/bin/sh -c set -eux;"
    + ' groupadd --system --gid "${NGINX_GID}" nginx;' * 20
    + "' returned a non-zero code: 4, logs: ['Step 1/19 : ARG BASE_IMAGE', '', ' ---> c538660e6709', "
    "'\\x1b[91m+ \\x1b[0m', 'groupadd --system --gid 100 nginx', "
    "\"\\x1b[91mgroupadd: GID '100' already exists\\x1b[0m\", "
    "'Removing intermediate container 6b1b0697d50f']"
)


def test_a_build_error_gives_the_image_the_exit_code_and_the_end_of_the_log():
    cause = summary.failure_cause({"msg": BUILD_ERROR})
    assert cause.startswith("Error building 127.0.0.1:5001/pacs-lab/nginx - code: 4 (the build step returned")
    assert cause.splitlines()[-1].strip() == "groupadd: GID '100' already exists"
    assert "\x1b" not in cause and "Removing intermediate" not in cause and 'groupadd --system --gid "$' not in cause


def test_a_censored_result_says_only_that():
    cause = summary.failure_cause({"censored": "the output has been hidden due to the fact that 'no_log: true'"})
    assert cause.startswith("output hidden (no_log)")


def test_a_command_gives_the_end_of_its_stderr():
    cause = summary.failure_cause({"msg": "non-zero return code", "rc": 100, "stderr": "one\ntwo\nE: Unable to fetch"})
    assert cause == "non-zero return code\n  stderr: one | two | E: Unable to fetch"


def test_a_loop_names_its_failed_item():
    result = {"results": [{"item": "a", "failed": False}, {"item": "b", "failed": True, "msg": "b is wrong"}]}
    assert summary.failure_cause(result) == "item b: b is wrong"


def test_a_long_message_is_cut_in_the_middle():
    cause = summary.failure_cause({"msg": "start " + "x" * 2000 + " end"})
    assert cause.startswith("start ") and cause.endswith(" end") and len(cause) < 700
