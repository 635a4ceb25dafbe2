"""cognito_user_pool_client against moto's in-process Cognito."""

from __future__ import annotations

import json

import boto3
import pytest

from library.cognito_user_pool_client import main
from tests.support.module_runner import mocked_aws, ok, run_module

CALLBACK = "https://pacs-admin.example.org/oauth2/idpresponse"


@pytest.fixture
def idp():
    with mocked_aws():
        client = boto3.client("cognito-idp", region_name="us-east-1")
        client.pool_id = client.create_user_pool(PoolName="pacs-admins")["UserPool"]["Id"]
        yield client


def args(idp, **extra):
    base = {"user_pool_id": idp.pool_id, "name": "pacs-admin-alb", "callback_urls": [CALLBACK], "region": "us-east-1"}
    base.update(extra)
    return base


def clients(idp):
    return idp.list_user_pool_clients(UserPoolId=idp.pool_id, MaxResults=60)["UserPoolClients"]


def test_check_mode_creates_nothing(idp):
    assert ok(main, args(idp), check_mode=True).changed
    assert clients(idp) == []


def test_create_with_defaults_then_rerun_is_unchanged_and_secret_stays_hidden(idp):
    first = ok(main, args(idp))
    assert first.changed
    client_id = first["client"]["client_id"]
    described = idp.describe_user_pool_client(UserPoolId=idp.pool_id, ClientId=client_id)["UserPoolClient"]
    assert described["ClientSecret"]
    assert described["AllowedOAuthFlows"] == ["code"]
    assert sorted(described["AllowedOAuthScopes"]) == ["email", "openid"]
    assert described["SupportedIdentityProviders"] == ["COGNITO"]
    assert described["CallbackURLs"] == [CALLBACK]
    assert first["client"]["has_secret"] is True
    assert "client_secret" not in first
    assert described["ClientSecret"] not in json.dumps(first)

    again = ok(main, args(idp))
    assert not again.changed, again.get("differences")
    assert again["client"]["client_id"] == client_id
    assert not ok(main, args(idp), check_mode=True).changed
    assert len(clients(idp)) == 1


def test_secret_only_with_return_secret_and_no_log(idp):
    ok(main, args(idp))
    refused = run_module(main, args(idp, return_secret=True))
    assert refused.failed and "no_log" in refused["msg"]
    given = ok(main, args(idp, return_secret=True), no_log=True)
    client_id = given["client"]["client_id"]
    secret = idp.describe_user_pool_client(UserPoolId=idp.pool_id, ClientId=client_id)["UserPoolClient"]["ClientSecret"]
    assert given["client_secret"] == secret


def test_settings_are_updated(idp):
    client_id = ok(main, args(idp))["client"]["client_id"]
    wanted = args(idp, callback_urls=[CALLBACK, "https://other/cb"], allowed_oauth_scopes=["openid"])
    assert ok(main, wanted, check_mode=True).changed
    updated = ok(main, wanted)
    assert updated.changed and set(updated["differences"]) == {"callback_urls", "allowed_oauth_scopes"}
    described = idp.describe_user_pool_client(UserPoolId=idp.pool_id, ClientId=client_id)["UserPoolClient"]
    assert sorted(described["CallbackURLs"]) == sorted([CALLBACK, "https://other/cb"])
    assert described["AllowedOAuthScopes"] == ["openid"]
    assert described["ClientSecret"]
    assert not ok(main, wanted).changed


def test_secret_setting_cannot_change(idp):
    ok(main, args(idp))
    result = run_module(main, args(idp, generate_secret=False))
    assert result.failed and "fixed at creation" in result["msg"]


def test_absent_deletes_and_is_then_unchanged(idp):
    ok(main, args(idp))
    absent = args(idp, state="absent")
    assert ok(main, absent, check_mode=True).changed
    assert len(clients(idp)) == 1
    assert ok(main, absent).changed
    assert clients(idp) == []
    assert not ok(main, absent).changed


def test_code_flow_needs_a_callback(idp):
    result = run_module(main, args(idp, callback_urls=[]))
    assert result.failed and "callback" in result["msg"]
