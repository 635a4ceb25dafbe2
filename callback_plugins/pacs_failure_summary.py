"""Callback pacs_failure_summary: a run that failed ends with the step, the host and the cause.

A failed task's own output can be thousands of characters (a docker build's whole log) and,
with the run going on for other hosts, scroll far away before the run ends; the lines a person
reads last (the recap) say only that something failed. This callback keeps every failure that
was not ignored or rescued and, after the recap, prints one block per failure:

    FAILED STEP: <play> / <task> (<role>, <file>:<line>)
    HOST: <host>
    CAUSE: <the module's message, trimmed; for a build, the last lines of its log>

A result that Ansible censored (no_log) is shown as censored: the cause then names only the step.
"""

from __future__ import annotations

import ast
import re

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: pacs_failure_summary
    type: aggregate
    short_description: end a failed run with the failed step, its host and the cause
    description:
      - After the recap, one block per task that failed (not ignored, not rescued) - the play and task, the
        host and the cause (the module's message trimmed, the last lines of a build's log).
    requirements:
      - enabled in callbacks_enabled (ansible.cfg)
"""

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_NOISE = re.compile(
    r"^(\+|Removing intermediate container.*|\s*---> .*|Step \d+/\d+ :.*|Reading package lists.*"
    r"|Building dependency tree.*)$"
)
_MAX = 600


def _clean(text: str) -> str:
    return _ANSI.sub("", str(text)).strip()


def _log_tail(message: str, count: int = 6) -> list[str]:
    """The last lines of the log list a docker build error carries after 'logs: '."""
    start = message.find("logs: [")
    if start < 0:
        return []
    try:
        lines = ast.literal_eval(message[start + len("logs: ") :])
    except (ValueError, SyntaxError):
        return []
    kept = [_clean(line) for line in lines if _clean(line) and not _NOISE.match(_clean(line))]
    return kept[-count:]


def failure_cause(result: dict) -> str:
    """A short, readable cause of a failed task result."""
    if result.get("censored"):
        return "output hidden (no_log): " + _clean(result["censored"])
    if result.get("results"):
        failed = [item for item in result["results"] if isinstance(item, dict) and item.get("failed")]
        if failed:
            label = failed[0].get("_ansible_item_label", failed[0].get("item", ""))
            return f"item {_clean(label)[:120]}: " + failure_cause(failed[0])
    message = _clean(result.get("msg") or "")
    tail = _log_tail(message)
    if tail:
        # "Error building <image> - code: N, message: The command '<the whole RUN line>' returned a
        # non-zero code: N, logs: [...]": the image, the step's exit code, then the log's end.
        head = message.split(", message:", 1)[0]
        code = re.search(r"returned a non-zero code: \d+", message)
        if code:
            head += f" (the build step {code.group(0)})"
        return head + "\n  last lines of the build log:\n    " + "\n    ".join(tail)
    lines = [message] if message else []
    for key in ("stderr", "stdout"):
        if result.get(key) and (not message or message.startswith("non-zero return code")):
            lines.append(f"{key}: " + " | ".join(_clean(result[key]).splitlines()[-5:]))
    cause = "\n  ".join(lines) or "no message (rc={})".format(result.get("rc", "?"))
    return cause if len(cause) <= _MAX else cause[: _MAX // 2] + " ... " + cause[-_MAX // 2 :]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "pacs_failure_summary"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._play = ""
        self._failures: list[tuple[str, str, str]] = []

    def v2_playbook_on_play_start(self, play) -> None:
        self._play = play.get_name().strip()

    def _record(self, result, cause: str) -> None:
        task = result._task
        where = []
        if task._role is not None:
            where.append(task._role.get_name())
        path = task.get_path()
        if path:
            where.append(path.rsplit("/", 1)[-1] if "/" in path else path)
        step = f"{self._play} / {task.get_name().strip()}" + (f" ({', '.join(where)})" if where else "")
        self._failures.append((step, result._host.get_name(), cause))

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        if ignore_errors:
            return
        self._record(result, failure_cause(result._result))

    def v2_runner_on_unreachable(self, result) -> None:
        self._record(result, "unreachable: " + _clean(result._result.get("msg", "")))

    def v2_playbook_on_stats(self, stats) -> None:
        # A failure that a block's rescue handled is not a failure of the run.
        hosts = {host for host in stats.processed if stats.failures.get(host) or stats.dark.get(host)}
        shown = [failure for failure in self._failures if failure[1] in hosts]
        if not shown:
            return
        self._display.banner("FAILED")
        for step, host, cause in shown:
            self._display.display(f"FAILED STEP: {step}\nHOST: {host}\nCAUSE: {cause}", color="red", stderr=False)
        self._display.display(
            f"The run stopped: {len(shown)} failed step(s) above; no later stage ran.", color="red", stderr=False
        )
