"""Filters of the aws_compute role.

aws_compute_efs_volumes(access_point_ids, file_system_id) gives the task
definition's volumes: one EFS volume per access point (named after it), TLS in
transit and IAM authorization with the task role. rootDirectory is "/",
written out: with an access point ECS takes it as the access point's own path
(the only value allowed beside none), and DescribeTaskDefinition returns it
so; community.aws.ecs_taskdefinition compares the volume as a whole, so a
volume without it never matched and every run registered a new revision.

aws_compute_labelled_containers(containers, secret_arns, secret_versions)
gives the containers with three docker labels each: the PKI secret the
container reads (pacs.tls-secret), that secret's version when the task
definition was registered (pacs.tls-secret-version), and a SHA-256 of the
whole container definition with those two labels (pacs.definition-sha256).
The labels make a task definition change whenever something in it does:
community.aws.ecs_taskdefinition compares a list option by its length only
(a changed command argument or secret version found the old revision, no
upstream issue found), but compares dockerLabels as a whole. A rotated secret
(a new version behind the same ARN) thus registers a new revision and the
service rolls a new deployment, whose tasks read the new version.
"""

from __future__ import annotations

import hashlib
import json


def aws_compute_efs_volumes(access_point_ids, file_system_id):
    return [
        {
            "name": name,
            "efsVolumeConfiguration": {
                "fileSystemId": file_system_id,
                "rootDirectory": "/",
                "transitEncryption": "ENABLED",
                "authorizationConfig": {"accessPointId": access_point_id, "iam": "ENABLED"},
            },
        }
        for name, access_point_id in sorted((access_point_ids or {}).items())
    ]


def _secret_arn(value_from):
    # arn:aws:secretsmanager:<region>:<account>:secret:<name>[:<json key>:<stage>:<version>]
    return ":".join(value_from.split(":")[:7])


def aws_compute_labelled_containers(containers, secret_arns, secret_versions):
    names_by_arn = {arn: name for name, arn in (secret_arns or {}).items() if arn}
    labelled = []
    for container in containers:
        container = dict(container)
        labels = dict(container.get("dockerLabels") or {})
        used = sorted({names_by_arn.get(_secret_arn(s["valueFrom"]), "") for s in container.get("secrets") or []})
        if used:
            labels["pacs.tls-secret"] = ",".join(used)
            labels["pacs.tls-secret-version"] = ",".join((secret_versions or {}).get(n) or "unknown" for n in used)
        labels.pop("pacs.definition-sha256", None)
        container["dockerLabels"] = labels
        digest = hashlib.sha256(json.dumps(container, sort_keys=True).encode()).hexdigest()
        container["dockerLabels"] = dict(labels, **{"pacs.definition-sha256": digest})
        labelled.append(container)
    return labelled


class FilterModule:
    def filters(self):
        return {
            "aws_compute_efs_volumes": aws_compute_efs_volumes,
            "aws_compute_labelled_containers": aws_compute_labelled_containers,
        }
