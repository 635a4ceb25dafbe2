"""Strategy pacs_linear: Ansible's linear strategy, run over Mitogen (PyPI package ``mitogen``).

Mitogen keeps one Python interpreter per host for the whole run and imports each module's code
once, instead of unpacking and compiling the module's zip payload at every task: on a 2-core
machine a module task on the controller cost about 1.7 s of CPU with the stock strategy and about
0.1 s with Mitogen (bench/ansible_strategy.py). Tasks on connections Mitogen does not know
(community.docker.docker, community.aws.aws_ssm) run as with the stock strategy.

ansible.cfg makes this the default strategy; ``PACS_MITOGEN=0`` in the environment makes it the
stock linear strategy (see strategy_plugins/_pacs_strategy.py).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _pacs_strategy import strategy_class  # noqa: E402

StrategyModule = strategy_class("linear")
