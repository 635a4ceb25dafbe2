"""Filters of the aws_edge role.

aws_edge_nlb_listeners(ports, target_group_arns) gives the NLB's listeners:
one TCP listener per DIMSE TLS port ({name: port}), forwarding to the target
group of the same name.
"""

from __future__ import annotations


def aws_edge_nlb_listeners(ports, target_group_arns):
    return [
        {
            "Protocol": "TCP",
            "Port": int(port),
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": target_group_arns[name]}],
        }
        for name, port in ports.items()
    ]


class FilterModule:
    def filters(self):
        return {"aws_edge_nlb_listeners": aws_edge_nlb_listeners}
