"""cognito_user_pool against moto's in-process Cognito."""

from __future__ import annotations

import boto3
import pytest

from library.cognito_user_pool import main
from tests.support.module_runner import mocked_aws, ok, run_module


@pytest.fixture
def idp():
    with mocked_aws():
        yield boto3.client("cognito-idp", region_name="us-east-1")


def args(**extra):
    base = {"name": "pacs-admins", "tags": {"Project": "pacs"}, "region": "us-east-1"}
    base.update(extra)
    return base


def pools(idp):
    return [p for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == "pacs-admins"]


def test_check_mode_creates_nothing(idp):
    assert ok(main, args(), check_mode=True).changed
    assert pools(idp) == []


def test_create_with_defaults_then_rerun_is_unchanged(idp):
    first = ok(main, args())
    assert first.changed
    pool = first["user_pool"]
    assert pool["id"] and pool["arn"].endswith(pool["id"]) and pool["name"] == "pacs-admins"
    described = idp.describe_user_pool(UserPoolId=pool["id"])["UserPool"]
    assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert described["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert described.get("MfaConfiguration", "OFF") == "OFF"
    assert described["UserPoolTags"] == {"Project": "pacs"}

    again = ok(main, args())
    assert not again.changed, again.get("differences")
    assert again["user_pool"]["id"] == pool["id"]
    assert not ok(main, args(), check_mode=True).changed
    assert len(pools(idp)) == 1


def test_settings_and_tags_are_updated(idp):
    pool_id = ok(main, args())["user_pool"]["id"]
    wanted = args(password_minimum_length=16, mfa="OPTIONAL", admin_create_user_only=False, tags={"Owner": "ops"})
    in_check = ok(main, wanted, check_mode=True)
    assert in_check.changed
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Policies"]["PasswordPolicy"]["MinimumLength"] == 12

    updated = ok(main, wanted)
    assert updated.changed
    assert set(updated["differences"]) >= {"password_policy", "mfa", "admin_create_user_only", "tags"}
    described = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == 16
    assert described["MfaConfiguration"] == "OPTIONAL"
    assert described["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    assert described["UserPoolTags"] == {"Owner": "ops"}
    assert not ok(main, wanted).changed


def test_duplicate_names_are_refused(idp):
    idp.create_user_pool(PoolName="pacs-admins")
    idp.create_user_pool(PoolName="pacs-admins")
    result = run_module(main, args())
    assert result.failed and "2 user pools" in result["msg"]


def test_absent_deletes_and_is_then_unchanged(idp):
    ok(main, args())
    absent = args(state="absent")
    assert ok(main, absent, check_mode=True).changed
    assert len(pools(idp)) == 1
    assert ok(main, absent).changed
    assert pools(idp) == []
    assert not ok(main, absent).changed


def test_password_length_is_validated(idp):
    result = run_module(main, args(password_minimum_length=4))
    assert result.failed and "between 6 and 99" in result["msg"]


def test_a_protected_pool_is_deleted_only_when_its_protection_is_lifted(idp):
    protected = args(deletion_protection="ACTIVE", mfa="ON")
    pool_id = ok(main, protected)["user_pool"]["id"]
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["DeletionProtection"] == "ACTIVE"
    assert not ok(main, protected).changed

    refused = run_module(main, args(state="absent", deletion_protection="ACTIVE"))
    assert refused.failed and "deletion protection" in refused["msg"]
    assert ok(main, args(state="absent"), check_mode=True).changed
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["DeletionProtection"] == "ACTIVE"

    assert ok(main, args(state="absent", deletion_protection="INACTIVE")).changed
    assert pools(idp) == []
