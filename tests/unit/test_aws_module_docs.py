"""The project's AWS modules carry documentation ansible-doc can read, matching their argument specs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

LIBRARY = Path(__file__).resolve().parents[2] / "library"
AWS_MODULES = [
    "aws_deployment_info",
    "backup_recovery_point",
    "backup_restore_efs",
    "backup_vault_access_policy",
    "cognito_user_pool",
    "cognito_user_pool_client",
    "cognito_user_pool_domain",
    "datasync_location_efs",
    "datasync_location_s3",
    "datasync_task",
    "datasync_task_execution",
    "ec2_vpc_endpoint_service",
    "ecs_cluster_insights",
    "ec2_vpc_flow_log",
    "efs_access_point",
    "pacs_index",
    "s3_bucket_empty",
    "s3_bulk_upload",
    "s3_object_lock",
    "sns_topic_encryption",
]
PRESENT = [name for name in AWS_MODULES if (LIBRARY / f"{name}.py").exists()]
# Options every AnsibleAWSModule has, documented by the amazon.aws fragments.
FRAGMENT_OPTIONS = {"tags", "purge_tags"}


def doc_strings(name):
    tree = ast.parse((LIBRARY / f"{name}.py").read_text())
    found = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(target, ast.Name) and target.id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
            found[target.id] = yaml.safe_load(node.value.value)
    return found


def descriptions_are_text(tree, where):
    """Every `description` is a string or a list of strings (a stray ': ' in prose makes a dict)."""
    problems = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key == "description":
                items = value if isinstance(value, list) else [value]
                problems += [f"{where}: {item!r}" for item in items if not isinstance(item, str)]
            else:
                problems += descriptions_are_text(value, f"{where}/{key}")
    return problems


@pytest.mark.parametrize("name", PRESENT)
def test_documentation_parses_and_describes_every_option(name):
    docs = doc_strings(name)
    assert set(docs) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    documentation = docs["DOCUMENTATION"]
    assert documentation["module"] == name
    assert descriptions_are_text(documentation, "DOCUMENTATION") == []
    assert descriptions_are_text(docs["RETURN"], "RETURN") == []
    assert isinstance(docs["EXAMPLES"], list) and docs["EXAMPLES"]
    for option, spec in documentation.get("options", {}).items():
        assert "type" in spec, f"{name}: option {option} has no type"
    for key, spec in docs["RETURN"].items():
        assert {"description", "returned", "type"} <= set(spec), f"{name}: return value {key} is incomplete"


@pytest.mark.parametrize("name", PRESENT)
def test_every_argument_is_documented(name):
    source = (LIBRARY / f"{name}.py").read_text()
    documented = set(doc_strings(name)["DOCUMENTATION"].get("options", {})) | FRAGMENT_OPTIONS
    spec_start = source.index("argument_spec = {")
    spec_text = source[spec_start : source.index("\n    }\n", spec_start)]
    top_level = {line.split('"')[1] for line in spec_text.splitlines() if line.startswith('        "')}
    assert top_level - documented == set(), f"{name}: undocumented options"
