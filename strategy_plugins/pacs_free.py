"""Strategy pacs_free: Ansible's free strategy, run over Mitogen (see pacs_linear.py).

playbooks/stages/deploy.yml runs with it, so that the controller's image builds and the hosts' tasks go
on side by side. ``PACS_MITOGEN=0`` in the environment makes it the stock free strategy.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _pacs_strategy import strategy_class  # noqa: E402

StrategyModule = strategy_class("free")
