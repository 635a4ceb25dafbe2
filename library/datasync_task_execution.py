#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: datasync_task_execution
short_description: Run a DataSync task and wait for it to finish
description:
  - Starts one execution of a DataSync task and, with O(wait=true), polls it with growing pauses until it
    ends in C(SUCCESS) or C(ERROR) or O(wait_timeout) passes. botocore has no waiter for this.
  - Starting an execution is an action, not a state, so every run that starts one reports a change; in
    check mode nothing is started and the module reports C(changed=true) with no execution.
  - An execution that ends in C(ERROR), or that is still running when the time is up, fails the task with
    the execution's ARN and DataSync's error detail.
version_added: "1.0.0"
options:
  task_arn:
    description: ARN of the task to run.
    type: str
    required: true
  wait:
    description: Wait for the execution to end.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the execution to end.
    type: int
    default: 3600
  poll_interval:
    description: Seconds before the first status check; each pause is 1.5 times the one before, at most 60.
    type: float
    default: 5
  override_options:
    description: Transfer options for this execution only, as the DataSync API spells them.
    type: dict
  includes:
    description: Filter patterns (C(/images/2024*|/images/2025*)) limiting this execution to matching paths.
    type: str
  execution_arn:
    description:
      - Follow this execution of O(task_arn), started earlier, instead of starting one. Reading an execution
        changes nothing, so the module then reports no change; with O(wait=false) it reads the status once
        (a playbook polls it with C(until) to show progress).
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Import what is in the bucket now, waiting up to an hour
  datasync_task_execution:
    task_arn: "{{ import_task.task_arn }}"
    wait_timeout: 3600
  register: import_run

- name: Start it and carry on
  datasync_task_execution:
    task_arn: "{{ import_task.task_arn }}"
    wait: false
  register: import_started

- name: Show its progress until it ends
  datasync_task_execution:
    task_arn: "{{ import_task.task_arn }}"
    execution_arn: "{{ import_started.execution_arn }}"
    wait: false
  register: import_progress
  until: import_progress.status in ['SUCCESS', 'ERROR']
  retries: 360
  delay: 10
"""

RETURN = r"""
execution_arn:
  description: ARN of the execution started (or followed); null in check mode.
  returned: always
  type: str
  sample: arn:aws:datasync:us-east-1:123456789012:task/task-0123456789abcdef0/execution/exec-0123456789abcdef0
status:
  description:
    - Last status seen, one of C(QUEUED), C(LAUNCHING), C(PREPARING), C(TRANSFERRING), C(VERIFYING),
      C(SUCCESS) or C(ERROR); null in check mode.
  returned: always
  type: str
bytes_transferred:
  description: Bytes sent over the network.
  returned: when an execution was started
  type: int
bytes_written:
  description: Bytes written to the destination.
  returned: when an execution was started
  type: int
files_transferred:
  description: Files transferred.
  returned: when an execution was started
  type: int
estimated_files_to_transfer:
  description: Files DataSync expected to transfer.
  returned: when an execution was started
  type: int
result:
  description: DataSync's phase results and error detail, in snake_case.
  returned: when DataSync reports them
  type: dict
execution:
  description: The whole DescribeTaskExecution answer, in snake_case.
  returned: when an execution was started
  type: dict
polls:
  description: How many times the status was read.
  returned: always
  type: int
"""

import contextlib

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws

FINAL = ("SUCCESS", "ERROR")
COUNTERS = ("BytesTransferred", "BytesWritten", "FilesTransferred", "EstimatedFilesToTransfer")


def result_of(execution, polls):
    shown = {k: v for k, v in execution.items() if k != "ResponseMetadata"}
    result = {
        "execution_arn": execution["TaskExecutionArn"],
        "status": execution.get("Status"),
        "polls": polls,
        "execution": camel_dict_to_snake_dict(shown),
    }
    for key in COUNTERS:
        result[camel_dict_to_snake_dict({key: 0}).popitem()[0]] = execution.get(key, 0)
    if execution.get("Result"):
        result["result"] = camel_dict_to_snake_dict(execution["Result"])
    return result


def main():
    argument_spec = {
        "task_arn": {"type": "str", "required": True},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 3600},
        "poll_interval": {"type": "float", "default": 5},
        "override_options": {"type": "dict"},
        "includes": {"type": "str"},
        "execution_arn": {"type": "str"},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if params["poll_interval"] <= 0 or params["wait_timeout"] < 0:
        module.fail_json(msg="poll_interval must be above 0 and wait_timeout 0 or more")
    client = pacs_aws.aws_client(module, "datasync")
    try:
        task = client.describe_task(TaskArn=params["task_arn"], aws_retry=True)
        following = params["execution_arn"]
        if following and not following.startswith(params["task_arn"] + "/execution/"):
            module.fail_json(msg=f"execution_arn {following} is not an execution of task {params['task_arn']}")
        if module.check_mode and not following:
            module.exit_json(changed=True, execution_arn=None, status=None, polls=0, task_status=task.get("Status"))
        kwargs = {"TaskArn": params["task_arn"]}
        if params["override_options"]:
            kwargs["OverrideOptions"] = params["override_options"]
        if params["includes"]:
            kwargs["Includes"] = [{"FilterType": "SIMPLE_PATTERN", "Value": params["includes"]}]
        arn = following or client.start_task_execution(aws_retry=True, **kwargs)["TaskExecutionArn"]

        polls = 0

        def probe():
            nonlocal polls
            polls += 1
            return client.describe_task_execution(TaskExecutionArn=arn, aws_retry=True)

        if not params["wait"]:
            module.exit_json(changed=not following, **result_of(probe(), polls))
        execution, finished = pacs_aws.poll(
            probe,
            lambda found: found.get("Status") in FINAL,
            params["wait_timeout"],
            first_delay=params["poll_interval"],
            max_delay=60,
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"DataSync task {params['task_arn']}")

    result = result_of(execution, polls)
    if not finished:
        module.fail_json(
            msg=f"execution {arn} is still {execution.get('Status')} after {params['wait_timeout']} s",
            changed=not following,
            **result,
        )
    if execution.get("Status") == "ERROR":
        detail = (execution.get("Result") or {}).get("ErrorDetail") or (execution.get("Result") or {}).get("ErrorCode")
        module.fail_json(
            msg=f"execution {arn} ended in ERROR: {detail or 'no detail given'}", changed=not following, **result
        )
    module.exit_json(changed=not following, **result)


if __name__ == "__main__":
    main()
