# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the converge_stamp module: one way for every role to skip a converged run.

A role calls it twice. ``state: check`` before its work compares the inputs and the live state with the
stamp of its last converge on the host, says in one line why the role is or is not converging again, and
remembers (as a host fact keyed by the stamp's path) what it compared. ``state: record`` after the work
writes the stamp from what the check remembered, so the inputs are summed once, before the work, and the
record repeats none of the check's arguments. ``state: drift`` goes to the module as it is.

The module (library/converge_stamp.py) documents the options; this plugin adds ``name`` (what the line
calls the role's work) and lets ``record`` leave out what the check was given.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()

# The host fact that carries each check's arguments to the record: {stamp path: {argument: value}}.
CHECKS_FACT = "converge_stamp_checks"
# What a check compares, and so what a record without its own value takes from the check.
COMPARED = ("inputs_digest", "watch", "probes", "live_extra")


def remembered_checks(task_vars):
    """What the checks of this run on this host compared, by stamp path."""
    facts = task_vars.get("ansible_facts") or {}
    return dict(facts.get(CHECKS_FACT) or task_vars.get(CHECKS_FACT) or {})


def check_message(name, match, reason):
    """The line a check shows: what is converged or not, and why."""
    return f"{name}: {'nothing to do' if match else 'converging'}, {reason}"


def record_arguments(args, checked):
    """The module's arguments for a record: the task's own, else what the check of the same stamp compared."""
    merged = {key: value for key, value in args.items() if key != "name"}
    for key in COMPARED:
        if merged.get(key) is None and key in checked:
            merged[key] = checked[key]
    if merged.get("inputs_digest") is None:
        raise AnsibleActionFail(
            f"converge_stamp: record of {merged.get('path')} without inputs_digest and without a check of the "
            "same stamp earlier in this run (call state=check first, or give inputs_digest)"
        )
    return merged


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        state = args.get("state", "check")
        path = args.get("path")
        if not path:
            raise AnsibleActionFail("converge_stamp: path is required")
        name = args.pop("name", None)

        if state == "record":
            checked = remembered_checks(task_vars).get(path, {})
            args = record_arguments(args, checked)

        result.update(self._execute_module(module_name="converge_stamp", module_args=args, task_vars=task_vars))
        if result.get("failed") or state != "check":
            return result

        remembered = remembered_checks(task_vars)
        remembered[path] = {key: args[key] for key in COMPARED if args.get(key) is not None}
        result["ansible_facts"] = {CHECKS_FACT: remembered}
        if name:
            # One line in the run's output (not the whole result, which carries the remembered arguments):
            # what each host skips, what it converges, and why.
            result["msg"] = check_message(name, result.get("match", False), result.get("reason", ""))
            display.display(f"[{task_vars.get('inventory_hostname', '?')}] {result['msg']}")
        return result
