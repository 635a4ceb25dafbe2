"""The project's strategies: a stock Ansible strategy, with Mitogen's runner unless PACS_MITOGEN=0.

Both stop a playbook at the first play that would start after a step failed (not ignored, not
rescued) on any host: Ansible's own rule runs the later plays on the hosts that did not fail, so a
failed image build on the controller was followed by the smoke checks on the other hosts, whose
errors then hid the cause. A play that must run anyway (a report of what failed) sets the play
variable ``pacs_run_after_failure: true``. The callback pacs_failure_summary then ends the output
with the failed step, its host and the cause.

A helper of pacs_linear.py and pacs_free.py, not a strategy (Ansible loads only the strategies plays name).
"""

from __future__ import annotations

import os

from ansible.plugins.loader import strategy_loader
from ansible.utils.display import Display

display = Display()


def mitogen_enabled() -> bool:
    """Mitogen runs unless PACS_MITOGEN is 0, false or no (any case)."""
    return os.environ.get("PACS_MITOGEN", "1").strip().lower() not in ("0", "false", "no")


def _local_connect_timeout() -> None:
    """Give Mitogen's local connection the host's connection timeout.

    Mitogen 0.3.54 passes ``ansible_timeout`` to its ssh, docker and other transports but not to
    ``local``, whose interpreter must then answer within Mitogen's built-in 30 s. On a starved
    2-core machine (CI's niced unit lane beside two Ansible lanes) a local child took longer and
    the task failed as "Connection timed out" (UNREACHABLE). With this the controller's
    ``ansible_timeout`` (inventories: 600 s for localhost) applies to it as to the other transports.
    """
    import ansible_mitogen.connection as mitogen_connection

    stock = mitogen_connection.CONNECTION_METHOD["local"]
    if getattr(stock, "pacs_patched", False):
        return

    def connect_local(spec):
        arguments = stock(spec)
        timeout = spec.timeout()
        if timeout:
            arguments["kwargs"]["connect_timeout"] = float(timeout)
        return arguments

    connect_local.pacs_patched = True
    mitogen_connection.CONNECTION_METHOD["local"] = connect_local


def earlier_failures(stats) -> list[str]:
    """Hosts with a failed step (not ignored, not rescued) in the plays run so far."""
    return sorted(host for host, count in stats.failures.items() if count)


class StopAfterFailureMixin:
    """Refuse to start a play once a step of an earlier play failed (see the module's doc)."""

    def run(self, iterator, play_context):
        failed = earlier_failures(self._tqm._stats)
        play = iterator._play
        if failed and not play.vars.get("pacs_run_after_failure", False):
            display.display(
                f"STOPPED before play '{play.get_name().strip()}': a step failed earlier on {', '.join(failed)}",
                color="red",
            )
            return self._tqm.RUN_FAILED_BREAK_PLAY
        return super().run(iterator, play_context)


def strategy_class(base_name: str) -> type:
    """The StrategyModule class for the stock strategy base_name ('linear' or 'free')."""
    base = strategy_loader.get(base_name, class_only=True)
    if not mitogen_enabled():
        return type(
            "StrategyModule",
            (StopAfterFailureMixin, base),
            {"__doc__": f"The stock {base_name} strategy (PACS_MITOGEN=0)."},
        )
    import ansible_mitogen.loaders  # noqa: F401  (sets up Mitogen's plugin loaders first)
    import ansible_mitogen.strategy

    _local_connect_timeout()
    return type(
        "StrategyModule",
        (StopAfterFailureMixin, ansible_mitogen.strategy.StrategyMixin, base),
        {"__doc__": f"The {base_name} strategy with Mitogen's connections and module runner."},
    )
