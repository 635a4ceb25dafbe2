"""What role aws_alarms sends, rendered from its vars as the role renders them, with AWS's ARN forms.

molecule/aws verify reads the alarms back from moto, but moto names every load balancer
loadbalancer/app/... (an NLB too), so there the NLB's dimension cannot be seen as AWS writes it. Pinned
here: the unhealthy-target alarms' dimensions (targetgroup/..., app/... for the ALB, net/... for the NLB,
each target group with its own load balancer and namespace), and the topic policy's publishers.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.support.ansible_run import ROOT, run_playbook

ELB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012"
INPUTS = {
    "aws_alarms_deployment": "dep",
    "aws_alarms_region": "eu-west-1",
    "aws_alarms_account_id": "123456789012",
    "aws_alarms_alb_arn": f"{ELB}:loadbalancer/app/dep-admin/50dc6c495c0c9188",
    "aws_alarms_nlb_arn": f"{ELB}:loadbalancer/net/dep-dimse/7c1d0ab5b1d6e2f3",
    "aws_alarms_alb_target_group_arns": {"admin": f"{ELB}:targetgroup/dep-admin/73e2d6bc24d8a067"},
    "aws_alarms_nlb_target_group_arns": {
        "storage": f"{ELB}:targetgroup/dep-storage/83e2d6bc24d8a067",
        "query": f"{ELB}:targetgroup/dep-query/93e2d6bc24d8a067",
    },
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("alarms")
    out = folder / "alarms.json"
    playbook = folder / "render.yml"
    content = (
        "{{ {'target_groups': _aws_alarms_target_groups, 'dimensions': _aws_alarms_target_group_dimensions,"
        " 'policy': _aws_alarms_topic_policy, 'topic': _aws_alarms_topic_arn} | to_json }}"
    )
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Render aws_alarms' alarms and topic policy",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars": INPUTS,
                    "tasks": [
                        {"ansible.builtin.include_vars": {"file": str(ROOT / "roles/aws_alarms/vars/main.yml")}},
                        {"ansible.builtin.copy": {"content": content, "dest": str(out), "mode": "0600"}},
                    ],
                }
            ]
        )
    )
    run = run_playbook(str(playbook))
    assert run.returncode == 0, run.report()
    return json.loads(out.read_text())


def test_unhealthy_target_alarms_name_each_target_group_with_its_load_balancer(rendered):
    groups = {g["key"]: g for g in rendered["target_groups"]}
    assert groups["admin"]["namespace"] == "AWS/ApplicationELB"
    assert groups["admin"]["load_balancer"] == "app/dep-admin/50dc6c495c0c9188"
    for name in ("storage", "query"):
        assert groups[name]["namespace"] == "AWS/NetworkELB"
        assert groups[name]["load_balancer"] == "net/dep-dimse/7c1d0ab5b1d6e2f3"
    assert rendered["dimensions"] == {
        "admin": "targetgroup/dep-admin/73e2d6bc24d8a067",
        "storage": "targetgroup/dep-storage/83e2d6bc24d8a067",
        "query": "targetgroup/dep-query/93e2d6bc24d8a067",
    }


def test_only_the_deployments_alarms_and_rule_of_this_account_publish(rendered):
    topic = "arn:aws:sns:eu-west-1:123456789012:dep-alarms"
    assert rendered["topic"] == topic
    statements = {s["Sid"]: s for s in rendered["policy"]["Statement"]}
    alarms = statements["TheDeploymentsAlarmsPublish"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Action"] == "SNS:Publish"
    assert alarms["Resource"] == topic
    assert alarms["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:dep-alarm-*"},
    }
    rule = statements["TheDeploymentsDataSyncRulePublishes"]
    assert rule["Principal"] == {"Service": "events.amazonaws.com"}
    assert rule["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnEquals": {"aws:SourceArn": "arn:aws:events:eu-west-1:123456789012:rule/dep-datasync-failed"},
    }
    assert statements["TheAccountManagesTheTopic"]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
