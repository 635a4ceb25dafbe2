"""The project's strategies: a stock Ansible strategy, with Mitogen's runner unless PACS_MITOGEN=0.

A helper of pacs_linear.py and pacs_free.py, not a strategy (Ansible loads only the strategies plays name).
"""

from __future__ import annotations

import os

from ansible.plugins.loader import strategy_loader


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


def strategy_class(base_name: str) -> type:
    """The StrategyModule class for the stock strategy base_name ('linear' or 'free')."""
    base = strategy_loader.get(base_name, class_only=True)
    if not mitogen_enabled():
        return type("StrategyModule", (base,), {"__doc__": f"The stock {base_name} strategy (PACS_MITOGEN=0)."})
    import ansible_mitogen.loaders  # noqa: F401  (sets up Mitogen's plugin loaders first)
    import ansible_mitogen.strategy

    _local_connect_timeout()
    return type(
        "StrategyModule",
        (ansible_mitogen.strategy.StrategyMixin, base),
        {"__doc__": f"The {base_name} strategy with Mitogen's connections and module runner."},
    )
