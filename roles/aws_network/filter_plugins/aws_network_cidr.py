"""Filters of the aws_network role (plain Python, no netaddr needed).

aws_network_cidr_problems(vpcs) returns a list of messages, one per broken
rule: a CIDR that does not parse, a subnet outside its VPC, two subnets that
overlap, two VPCs that overlap (they are peered, so they must not).

aws_network_plan(vpcs, zones, deployment, peerings) turns the VPC settings
into the lists the tasks loop over: subnets, NAT gateways, route tables (with
the peering routes they carry) and peerings, each with its resource name.

aws_network_routes(table, igw_ids, nat_ids, peering_ids) gives one planned
route table's routes with the ids of the gateways and peerings.
"""

from __future__ import annotations

import ipaddress
from itertools import combinations


def _net(value):
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        return None


def aws_network_bad_cidrs(values):
    """The entries of a list that are not an IPv4 or IPv6 network in CIDR notation (host bits clear)."""
    return [str(value) for value in values or [] if _net(value) is None]


def aws_network_cidr_problems(vpcs, variable="aws_network_vpcs"):
    problems = []
    nets = {}
    for name, vpc in (vpcs or {}).items():
        where = f"{variable}.{name}"
        vpc_net = _net(vpc.get("cidr"))
        if vpc_net is None or vpc_net.version != 4 or not 16 <= vpc_net.prefixlen <= 28:
            problems.append(f"{where}.cidr ({vpc.get('cidr')!r}) must be an IPv4 network between /16 and /28")
            continue
        nets[name] = vpc_net
        subnets = []
        for kind in ("public_subnets", "private_subnets"):
            for index, cidr in enumerate(vpc.get(kind) or []):
                sub = _net(cidr)
                label = f"{where}.{kind}[{index}] ({cidr})"
                if sub is None or sub.version != 4:
                    problems.append(f"{label} is not an IPv4 network")
                elif not sub.subnet_of(vpc_net):
                    problems.append(f"{label} is not inside {where}.cidr ({vpc_net})")
                else:
                    subnets.append((label, sub))
        for (label_a, a), (label_b, b) in combinations(subnets, 2):
            if a.overlaps(b):
                problems.append(f"{label_a} overlaps {label_b}")
    for (name_a, a), (name_b, b) in combinations(nets.items(), 2):
        if a.overlaps(b):
            problems.append(
                f"{variable}.{name_a}.cidr ({a}) overlaps {variable}.{name_b}.cidr ({b}); "
                "the VPCs are peered or joined by PrivateLink and must not overlap"
            )
    return problems


def aws_network_plan(vpcs, zones, deployment, peerings):
    subnets, nats, tables, peers = [], [], [], []
    for pair in peerings:
        requester, accepter = pair
        peers.append(
            {
                "key": f"{requester}-{accepter}",
                "requester": requester,
                "accepter": accepter,
                "name": f"{deployment}-{requester}-{accepter}",
            }
        )
    for vpc_name, vpc in vpcs.items():
        for tier in ("public", "private"):
            for index, cidr in enumerate(vpc.get(f"{tier}_subnets") or []):
                key = f"{vpc_name}-{tier}-{index + 1}"
                subnets.append(
                    {
                        "key": key,
                        "vpc": vpc_name,
                        "tier": tier,
                        "zone": zones[index],
                        "cidr": cidr,
                        "name": f"{deployment}-{key}",
                    }
                )
        if vpc.get("nat_gateways") and vpc.get("private_subnets"):
            for index in range(len(vpc.get("public_subnets") or [])):
                nats.append(
                    {
                        "key": f"{vpc_name}-{index + 1}",
                        "vpc": vpc_name,
                        "subnet_key": f"{vpc_name}-public-{index + 1}",
                        "name": f"{deployment}-{vpc_name}-nat-{index + 1}",
                    }
                )
        peer_routes = []
        for peer in peers:
            if vpc_name in (peer["requester"], peer["accepter"]):
                other = peer["accepter"] if vpc_name == peer["requester"] else peer["requester"]
                peer_routes.append({"cidr": vpcs[other]["cidr"], "peering_key": peer["key"]})
        tables.append(
            {
                "key": f"{vpc_name}-public",
                "vpc": vpc_name,
                "tier": "public",
                "subnet_keys": [f"{vpc_name}-public-{i + 1}" for i in range(len(vpc.get("public_subnets") or []))],
                "nat_key": None,
                "peer_routes": peer_routes,
                "name": f"{deployment}-{vpc_name}-public",
            }
        )
        has_nat = bool(vpc.get("nat_gateways"))
        for index in range(len(vpc.get("private_subnets") or [])):
            tables.append(
                {
                    "key": f"{vpc_name}-private-{index + 1}",
                    "vpc": vpc_name,
                    "tier": "private",
                    "subnet_keys": [f"{vpc_name}-private-{index + 1}"],
                    # Each zone's private subnet leaves through its own zone's NAT gateway.
                    "nat_key": f"{vpc_name}-{index + 1}" if has_nat else None,
                    "peer_routes": peer_routes,
                    "name": f"{deployment}-{vpc_name}-private-{index + 1}",
                }
            )
    return {"subnets": subnets, "nat_gateways": nats, "route_tables": tables, "peerings": peers}


def aws_network_routes(table, igw_ids, nat_ids, peering_ids):
    """The routes of one planned route table, with the gateways' and peerings' ids."""
    routes = []
    if table["tier"] == "public":
        routes.append({"dest": "0.0.0.0/0", "gateway_id": igw_ids[table["vpc"]]})
    elif table.get("nat_key"):
        routes.append({"dest": "0.0.0.0/0", "nat_gateway_id": nat_ids[table["nat_key"]]})
    for peer in table.get("peer_routes") or []:
        routes.append({"dest": peer["cidr"], "vpc_peering_connection_id": peering_ids[peer["peering_key"]]})
    return routes


class FilterModule:
    def filters(self):
        return {
            "aws_network_bad_cidrs": aws_network_bad_cidrs,
            "aws_network_cidr_problems": aws_network_cidr_problems,
            "aws_network_plan": aws_network_plan,
            "aws_network_routes": aws_network_routes,
        }
