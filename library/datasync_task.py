#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: datasync_task
short_description: Manage a DataSync task, found by its name
description:
  - Creates, updates and deletes a DataSync task that copies from one location to another (the S3 to EFS
    bulk import, for example). Running it is M(datasync_task_execution)'s job.
  - The task is looked up by name; the module fails when several tasks share it.
  - Compared and updated in place are the CloudWatch log group, the transfer options given in O(options)
    (only those keys; the others keep what AWS has), and the tags.
  - The source and destination are fixed. When they differ the module fails and says so, unless
    O(replace=true), which deletes the task and creates it again (its ARN changes).
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  name:
    description: Name of the task.
    type: str
    required: true
  state:
    description: Whether the task should exist.
    type: str
    choices: [present, absent]
    default: present
  source_location_arn:
    description: ARN of the location the task reads. Required to create.
    type: str
  destination_location_arn:
    description: ARN of the location the task writes. Required to create.
    type: str
  cloudwatch_log_group_arn:
    description: ARN of the CloudWatch Logs group the task logs to.
    type: str
  options:
    description:
      - Transfer options, as the DataSync API spells them, for example C(VerifyMode), C(OverwriteMode),
        C(TransferMode) or C(LogLevel); see the EXAMPLES.
    type: dict
  replace:
    description: Delete and create the task again when its source or destination differ.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for a new task to become C(AVAILABLE).
    type: int
    default: 120
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Bulk import from the images bucket into EFS
  datasync_task:
    name: pacs-import
    source_location_arn: "{{ import_source.location_arn }}"
    destination_location_arn: "{{ import_destination.location_arn }}"
    cloudwatch_log_group_arn: "{{ datasync_log_group_arn }}"
    options:
      VerifyMode: ONLY_FILES_TRANSFERRED
      OverwriteMode: ALWAYS
      TransferMode: CHANGED
    tags:
      Project: pacs
  register: import_task
"""

RETURN = r"""
task_arn:
  description: ARN of the task; null when it is absent.
  returned: always
  type: str
  sample: arn:aws:datasync:us-east-1:123456789012:task/task-0123456789abcdef0
task:
  description: The task as DataSync describes it, in snake_case (the options keep AWS's spelling).
  returned: when state is present and the task exists
  type: dict
  contains:
    name:
      description: Name.
      type: str
    status:
      description: C(AVAILABLE), C(RUNNING), and so on.
      type: str
    source_location_arn:
      description: Source.
      type: str
    destination_location_arn:
      description: Destination.
      type: str
    options:
      description: Transfer options.
      type: dict
    tags:
      description: Tags.
      type: dict
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


def find_task_arn(client, name):
    found = [task for task in pacs_aws.paginate(client, "list_tasks", "Tasks") if task.get("Name") == name]
    if len(found) > 1:
        raise ValueError(f"{len(found)} DataSync tasks are named {name!r}: " + ", ".join(t["TaskArn"] for t in found))
    return found[0]["TaskArn"] if found else None


def describe(client, arn):
    task = client.describe_task(TaskArn=arn, aws_retry=True)
    return {k: v for k, v in task.items() if k != "ResponseMetadata"}


def option_differences(task, wanted):
    have = task.get("Options") or {}
    return sorted(key for key, value in (wanted or {}).items() if have.get(key) != value)


def result_of(task, tags):
    if task is None:
        return {"task_arn": None}
    shown = dict(task)
    shown["Tags"] = tags
    return {"task_arn": task["TaskArn"], "task": camel_dict_to_snake_dict(shown, ignore_list=["Tags", "Options"])}


def create(module, client):
    params = module.params
    kwargs = {
        "Name": params["name"],
        "SourceLocationArn": params["source_location_arn"],
        "DestinationLocationArn": params["destination_location_arn"],
        "Tags": pacs_aws.tags_to_list(params["tags"]),
    }
    if params["cloudwatch_log_group_arn"]:
        kwargs["CloudWatchLogGroupArn"] = params["cloudwatch_log_group_arn"]
    if params["options"]:
        kwargs["Options"] = params["options"]
    arn = client.create_task(aws_retry=True, **kwargs)["TaskArn"]
    task, ready = pacs_aws.poll(
        lambda: describe(client, arn),
        lambda found: found.get("Status") in ("AVAILABLE", "UNAVAILABLE"),
        params["wait_timeout"],
    )
    if not ready:
        module.fail_json(msg=f"task {arn} is not available after {params['wait_timeout']} s", task_arn=arn)
    return task


def ensure_present(module, client):
    params = module.params
    arn = find_task_arn(client, params["name"])
    if arn is not None:
        task = describe(client, arn)
        fixed = [
            option
            for option, field in (
                ("source_location_arn", "SourceLocationArn"),
                ("destination_location_arn", "DestinationLocationArn"),
            )
            if params[option] and task.get(field) != params[option]
        ]
        if fixed and not params["replace"]:
            module.fail_json(
                msg=f"DataSync task {params['name']} differs in {', '.join(fixed)}; set replace=true to recreate it",
                differences=fixed,
            )
        if fixed:
            if module.check_mode:
                module.exit_json(changed=True, differences=fixed, **result_of(None, None))
            client.delete_task(TaskArn=arn, aws_retry=True)
        else:
            diffs = option_differences(task, params["options"])
            update = {}
            if diffs:
                update["Options"] = {**(task.get("Options") or {}), **params["options"]}
            wanted_log = params["cloudwatch_log_group_arn"]
            if wanted_log and task.get("CloudWatchLogGroupArn") != wanted_log:
                update["CloudWatchLogGroupArn"] = wanted_log
            if update and not module.check_mode:
                if "CloudWatchLogGroupArn" not in update and task.get("CloudWatchLogGroupArn"):
                    update["CloudWatchLogGroupArn"] = task["CloudWatchLogGroupArn"]
                if "Options" not in update and task.get("Options"):
                    update["Options"] = task["Options"]
                client.update_task(TaskArn=arn, Name=params["name"], aws_retry=True, **update)
            tags_changed, tags = pacs_aws.datasync_update_tags(module, client, arn, pacs_aws.datasync_tags(client, arn))
            if update and not module.check_mode:
                task = describe(client, arn)
            changed = bool(update) or tags_changed
            module.exit_json(changed=changed, differences=sorted(update), **result_of(task, tags))

    if not params["source_location_arn"] or not params["destination_location_arn"]:
        module.fail_json(msg="source_location_arn and destination_location_arn are required to create a DataSync task")
    if module.check_mode:
        module.exit_json(changed=True, **result_of(None, None))
    module.exit_json(changed=True, **result_of(create(module, client), dict(params["tags"] or {})))


def ensure_absent(module, client):
    arn = find_task_arn(client, module.params["name"])
    if arn is None:
        module.exit_json(changed=False, **result_of(None, None))
    if not module.check_mode:
        client.delete_task(TaskArn=arn, aws_retry=True)
    module.exit_json(changed=True, **result_of(None, None))


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "source_location_arn": {"type": "str"},
        "destination_location_arn": {"type": "str"},
        "cloudwatch_log_group_arn": {"type": "str"},
        "options": {"type": "dict"},
        "replace": {"type": "bool", "default": False},
        "wait_timeout": {"type": "int", "default": 120},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = pacs_aws.aws_client(module, "datasync")
    try:
        if module.params["state"] == "present":
            ensure_present(module, client)
        else:
            ensure_absent(module, client)
    except ValueError as err:
        module.fail_json(msg=str(err))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        module.fail_json_aws(err, msg=f"DataSync task {module.params['name']}")


if __name__ == "__main__":
    main()
