"""cognito_user_pool_domain against moto's in-process Cognito."""

from __future__ import annotations

import boto3
import pytest

from library.cognito_user_pool_domain import main
from tests.support.module_runner import mocked_aws, ok, run_module


@pytest.fixture
def idp():
    with mocked_aws():
        client = boto3.client("cognito-idp", region_name="us-east-1")
        client.pool_id = client.create_user_pool(PoolName="pacs-admins")["UserPool"]["Id"]
        client.other_pool_id = client.create_user_pool(PoolName="other")["UserPool"]["Id"]
        yield client


def args(idp, **extra):
    base = {"user_pool_id": idp.pool_id, "domain": "pacs-admin-login", "region": "us-east-1"}
    base.update(extra)
    return base


def domain_of(idp):
    return idp.describe_user_pool_domain(Domain="pacs-admin-login")["DomainDescription"]


def test_check_mode_creates_nothing(idp):
    assert ok(main, args(idp), check_mode=True).changed
    assert not domain_of(idp)


def test_create_then_rerun_is_unchanged(idp):
    first = ok(main, args(idp))
    assert first.changed
    assert domain_of(idp)["UserPoolId"] == idp.pool_id
    assert first["domain"]["domain"] == "pacs-admin-login"
    assert first["domain"]["fqdn"] == "pacs-admin-login.auth.us-east-1.amazoncognito.com"
    again = ok(main, args(idp))
    assert not again.changed
    assert not ok(main, args(idp), check_mode=True).changed


def test_domain_of_another_pool_is_refused(idp):
    ok(main, args(idp))
    taken = run_module(main, args(idp, user_pool_id=idp.other_pool_id))
    assert taken.failed and idp.pool_id in taken["msg"]
    not_mine = run_module(main, args(idp, user_pool_id=idp.other_pool_id, state="absent"))
    assert not_mine.failed
    assert domain_of(idp)


def test_absent_deletes_and_is_then_unchanged(idp):
    ok(main, args(idp))
    absent = args(idp, state="absent")
    assert ok(main, absent, check_mode=True).changed
    assert domain_of(idp)
    assert ok(main, absent).changed
    assert not domain_of(idp)
    assert not ok(main, absent).changed


def test_prefix_is_validated(idp):
    result = run_module(main, args(idp, domain="pacs.admin"))
    assert result.failed and "letters, digits and hyphens" in result["msg"]
