#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecs_cluster_insights
short_description: Turn CloudWatch Container Insights of an existing ECS cluster on or off
description:
  - Sets the cluster setting C(containerInsights), which M(community.aws.ecs_cluster) (10.0.0) does not manage.
    With it on, ECS publishes the C(ECS/ContainerInsights) metrics, among them C(RunningTaskCount) and
    C(DesiredTaskCount) per service, that an alarm can watch.
  - The cluster's other settings are left as they are. A second run finds the setting equal and changes nothing.
  - Supports check mode. In check mode a cluster that does not exist yet (the run that would create it) is
    reported as a change, without any mutating call.
version_added: "1.0.0"
options:
  cluster:
    description: Name or ARN of the cluster.
    type: str
    required: true
  value:
    description: The setting's value; C(enhanced) is Container Insights with enhanced observability.
    type: str
    choices: [enabled, disabled, enhanced]
    default: enabled
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Publish the cluster's Container Insights metrics
  ecs_cluster_insights:
    cluster: pacs-prod
    value: enabled
"""

RETURN = r"""
cluster:
  description: The cluster as given.
  returned: always
  type: str
value:
  description: The setting after the run (in check mode, the value it would have); empty when the cluster is missing.
  returned: always
  type: str
"""

import contextlib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws

SETTING = "containerInsights"


def current_settings(client, cluster):
    """The ACTIVE cluster's settings as a list of {name, value}, or None when there is no such cluster."""
    found = client.describe_clusters(clusters=[cluster], include=["SETTINGS"], aws_retry=True).get("clusters", [])
    active = [c for c in found if c.get("status") == "ACTIVE"]
    return (active[0].get("settings") or []) if active else None


def main():
    argument_spec = {
        "cluster": {"type": "str", "required": True},
        "value": {"type": "str", "choices": ["enabled", "disabled", "enhanced"], "default": "enabled"},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    cluster, wanted = module.params["cluster"], module.params["value"]
    client = pacs_aws.aws_client(module, "ecs")
    try:
        settings = current_settings(client, cluster)
        if settings is None:
            if module.check_mode:
                module.exit_json(changed=True, cluster=cluster, value=wanted)
            module.fail_json(msg=f"ECS cluster {cluster} does not exist", cluster=cluster, value="")
        have = next((s.get("value") for s in settings if s.get("name") == SETTING), "disabled")
        if have == wanted:
            module.exit_json(changed=False, cluster=cluster, value=have)
        if not module.check_mode:
            # UpdateCluster, not UpdateClusterSettings: the same setting, and moto has only the former.
            client.update_cluster(cluster=cluster, settings=[{"name": SETTING, "value": wanted}], aws_retry=True)
        module.exit_json(changed=True, cluster=cluster, value=wanted)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"Container Insights of ECS cluster {cluster}")


if __name__ == "__main__":
    main()
