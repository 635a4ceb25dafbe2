"""The aws_network and aws_edge roles' filters (plain Python)."""

from __future__ import annotations

import pytest

from tests.support.plugins import load_role_filter

network = load_role_filter("aws_network", "aws_network_cidr")
edge = load_role_filter("aws_edge", "aws_edge_listeners")

SAMPLE = {
    "provider": {
        "cidr": "10.0.0.0/16",
        "public_subnets": ["10.0.2.0/24", "10.0.3.0/24"],
        "private_subnets": ["10.0.0.0/24", "10.0.1.0/24"],
        "nat_gateways": True,
    },
    "consumer": {
        "cidr": "10.1.0.0/16",
        "public_subnets": ["10.1.2.0/24", "10.1.3.0/24"],
        "private_subnets": ["10.1.0.0/24", "10.1.1.0/24"],
        "nat_gateways": False,
    },
    "onprem": {"cidr": "10.2.0.0/16", "public_subnets": ["10.2.2.0/24", "10.2.3.0/24"], "private_subnets": []},
}
PEERINGS = [["onprem", "consumer"], ["onprem", "provider"]]


def test_the_sample_layout_has_no_problems():
    assert network.aws_network_cidr_problems(SAMPLE) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"consumer": {**SAMPLE["consumer"], "cidr": "10.0.128.0/17"}}, "overlaps aws_network_vpcs.consumer.cidr"),
        (
            {"onprem": {**SAMPLE["onprem"], "public_subnets": ["10.9.0.0/24"]}},
            "is not inside aws_network_vpcs.onprem.cidr",
        ),
        ({"onprem": {**SAMPLE["onprem"], "public_subnets": ["10.2.0.0/24", "10.2.0.128/25"]}}, "overlaps"),
        ({"onprem": {**SAMPLE["onprem"], "cidr": "10.2.0.1/16"}}, "aws_network_vpcs.onprem.cidr"),
        ({"onprem": {**SAMPLE["onprem"], "cidr": "nonsense"}}, "aws_network_vpcs.onprem.cidr"),
    ],
)
def test_bad_cidrs_are_named(change, expected):
    problems = network.aws_network_cidr_problems({**SAMPLE, **change})
    assert problems
    assert any(expected in problem for problem in problems), problems


def test_plan_names_subnets_nat_gateways_and_routes():
    plan = network.aws_network_plan(SAMPLE, ["eu-west-1a", "eu-west-1b"], "pacs-prod", PEERINGS)
    assert [s["name"] for s in plan["subnets"] if s["vpc"] == "provider"] == [
        "pacs-prod-provider-public-1",
        "pacs-prod-provider-public-2",
        "pacs-prod-provider-private-1",
        "pacs-prod-provider-private-2",
    ]
    assert {s["zone"] for s in plan["subnets"] if s["key"].endswith("-2")} == {"eu-west-1b"}
    assert [n["subnet_key"] for n in plan["nat_gateways"]] == ["provider-public-1", "provider-public-2"]
    private_2 = next(t for t in plan["route_tables"] if t["key"] == "provider-private-2")
    # Each zone's private subnet leaves through its own zone's NAT gateway.
    assert private_2["nat_key"] == "provider-2"
    assert [p["name"] for p in plan["peerings"]] == ["pacs-prod-onprem-consumer", "pacs-prod-onprem-provider"]
    onprem = next(t for t in plan["route_tables"] if t["key"] == "onprem-public")
    assert sorted(r["cidr"] for r in onprem["peer_routes"]) == ["10.0.0.0/16", "10.1.0.0/16"]
    consumer = next(t for t in plan["route_tables"] if t["key"] == "consumer-private-1")
    assert consumer["nat_key"] is None
    assert [r["cidr"] for r in consumer["peer_routes"]] == ["10.2.0.0/16"]


def test_routes_carry_the_ids():
    plan = network.aws_network_plan(SAMPLE, ["a", "b"], "d", PEERINGS)
    table = next(t for t in plan["route_tables"] if t["key"] == "provider-private-1")
    routes = network.aws_network_routes(
        table, {"provider": "igw-1"}, {"provider-1": "nat-1"}, {"onprem-provider": "pcx-2", "onprem-consumer": "pcx-1"}
    )
    assert routes == [
        {"dest": "0.0.0.0/0", "nat_gateway_id": "nat-1"},
        {"dest": "10.2.0.0/16", "vpc_peering_connection_id": "pcx-2"},
    ]


def test_nlb_listeners_forward_each_port_to_its_group():
    listeners = edge.aws_edge_nlb_listeners({"storage": "16666", "query": 11045}, {"storage": "tg-s", "query": "tg-q"})
    assert listeners == [
        {"Protocol": "TCP", "Port": 16666, "DefaultActions": [{"Type": "forward", "TargetGroupArn": "tg-s"}]},
        {"Protocol": "TCP", "Port": 11045, "DefaultActions": [{"Type": "forward", "TargetGroupArn": "tg-q"}]},
    ]
