"""Strategy mitogen_linear: Ansible's linear strategy run over Mitogen (PyPI package ``mitogen``).

Mitogen keeps one Python interpreter per host for the whole run and imports each module's
code once, instead of unpacking and compiling the module's zip payload at every task: measured
on a 2-core machine, a module task on the controller cost 1.7 s of CPU with the stock strategy
and about 0.1 s with this one (bench/ansible_strategy.py). Tasks on connections Mitogen does not
know (community.docker.docker, aws_ssm) run as with the stock strategy.

ansible.cfg selects it; ``ANSIBLE_STRATEGY=linear`` turns it off for a run.
"""

from __future__ import annotations

import ansible_mitogen.loaders
import ansible_mitogen.strategy

_Linear = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, _Linear):
    """The linear strategy with Mitogen's connection and module runner."""
