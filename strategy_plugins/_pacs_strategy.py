"""The project's strategies: a stock Ansible strategy, with Mitogen's runner unless PACS_MITOGEN=0.

A helper of pacs_linear.py and pacs_free.py, not a strategy (Ansible loads only the strategies plays name).
"""

from __future__ import annotations

import os

from ansible.plugins.loader import strategy_loader


def mitogen_enabled() -> bool:
    """Mitogen runs unless PACS_MITOGEN is 0, false or no (any case)."""
    return os.environ.get("PACS_MITOGEN", "1").strip().lower() not in ("0", "false", "no")


def strategy_class(base_name: str) -> type:
    """The StrategyModule class for the stock strategy base_name ('linear' or 'free')."""
    base = strategy_loader.get(base_name, class_only=True)
    if not mitogen_enabled():
        return type("StrategyModule", (base,), {"__doc__": f"The stock {base_name} strategy (PACS_MITOGEN=0)."})
    import ansible_mitogen.loaders  # noqa: F401  (sets up Mitogen's plugin loaders first)
    import ansible_mitogen.strategy

    return type(
        "StrategyModule",
        (ansible_mitogen.strategy.StrategyMixin, base),
        {"__doc__": f"The {base_name} strategy with Mitogen's connections and module runner."},
    )
