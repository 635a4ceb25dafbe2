"""Unit tests of roles/container_images/library/ecr_login_token.py (moto's mock_aws, no network)."""

import base64
import datetime
import importlib.util
import json
from pathlib import Path

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from moto import mock_aws

MODULE_PATH = Path(__file__).resolve().parents[2] / "roles" / "container_images" / "library" / "ecr_login_token.py"
REGION = "eu-west-1"


def _load_module():
    spec = importlib.util.spec_from_file_location("ecr_login_token", MODULE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ecr_login_token = _load_module()


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def _run(args, capsys):
    """Run the module's main() with args; return (exit code, result dict)."""
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        ecr_login_token.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def _token(user, password):
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_decode_authorization_splits_token_and_endpoint():
    expires = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)
    login = ecr_login_token.decode_authorization(
        {
            "authorizationToken": _token("AWS", "pa:ss"),
            "proxyEndpoint": "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "expiresAt": expires,
        }
    )
    assert login == {
        "registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "registry_id": "123456789012",
        "username": "AWS",
        "password": "pa:ss",  # only the first colon separates user and password
        "expires_at": "2026-11-25T12:00:00+00:00",
    }


def test_decode_authorization_rejects_malformed_token():
    with pytest.raises(ValueError, match="user:password"):
        ecr_login_token.decode_authorization(
            {"authorizationToken": base64.b64encode(b"no-colon").decode(), "proxyEndpoint": "https://x"}
        )


def test_get_login_passes_registry_id():
    calls = []
    fake_secret = "not-a-real-secret"  # noqa: S105 (test data)

    class FakeClient:
        def get_authorization_token(self, **kwargs):
            calls.append(kwargs)
            return {
                "authorizationData": [
                    {
                        "authorizationToken": _token("AWS", fake_secret),
                        "proxyEndpoint": "https://210987654321.dkr.ecr.x",
                    }
                ]
            }

    assert ecr_login_token.get_login(FakeClient(), "210987654321")["registry_id"] == "210987654321"
    assert ecr_login_token.get_login(FakeClient())["password"] == fake_secret
    assert calls == [{"aws_retry": True, "registryIds": ["210987654321"]}, {"aws_retry": True}]


def test_get_login_without_data_fails():
    class EmptyClient:
        def get_authorization_token(self, **kwargs):
            return {"authorizationData": []}

    with pytest.raises(ValueError, match="no authorization data"):
        ecr_login_token.get_login(EmptyClient())


@mock_aws
def test_module_returns_docker_login_fields(capsys):
    account = boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]
    code, result = _run({"region": REGION}, capsys)
    assert code == 0
    assert result["changed"] is False
    assert result["registry"] == f"{account}.dkr.ecr.{REGION}.amazonaws.com"
    assert result["registry_id"] == account
    assert result["username"] == "AWS"
    assert result["password"]
    assert result["expires_at"]


@mock_aws
def test_module_check_mode_is_read_only(capsys):
    code, result = _run({"region": REGION, "_ansible_check_mode": True}, capsys)
    assert code == 0
    assert result["changed"] is False
    assert result["username"] == "AWS"


@mock_aws
def test_module_explicit_registry_id(capsys):
    code, result = _run({"region": REGION, "registry_id": "210987654321"}, capsys)
    assert code == 0
    assert result["registry"] == f"210987654321.dkr.ecr.{REGION}.amazonaws.com"


@mock_aws
def test_module_fails_without_region(capsys, monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "EC2_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    code, result = _run({}, capsys)
    assert code == 1
    assert result["failed"] is True
    assert "password" not in result
