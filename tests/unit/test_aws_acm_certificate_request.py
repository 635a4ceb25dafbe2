"""acm_certificate_request against moto's in-process ACM.

moto issues a DNS-validated certificate once MOTO_ACM_VALIDATION_WAIT seconds (its setting) have passed,
without looking at DNS; the wait is set to 0 here, and each test says when it is issued.
"""

from __future__ import annotations

import boto3
import pytest
from moto import settings

from library.acm_certificate_request import main
from tests.support.module_runner import mocked_aws, ok, run_module


@pytest.fixture
def acm(monkeypatch):
    monkeypatch.setattr(settings, "ACM_VALIDATION_WAIT", 0)
    with mocked_aws():
        yield boto3.client("acm", region_name="us-east-1")


def args(**extra):
    base = {"domain_name": "pacs-admin.example.com", "name_tag": "pacs-admin", "tags": {"Project": "pacs"}}
    return {**base, "region": "us-east-1", **extra}


def certificates(acm):
    return acm.list_certificates()["CertificateSummaryList"]


def test_check_mode_requests_nothing(acm):
    result = ok(main, args(), check_mode=True)
    assert result.changed and result["certificate_arn"] == ""
    assert certificates(acm) == []


def test_request_returns_the_validation_record_then_a_rerun_finds_it(acm):
    first = ok(main, args())
    assert first.changed
    (record,) = first["validation_records"]
    assert record["type"] == "CNAME" and record["name"].endswith("pacs-admin.example.com.")
    described = acm.describe_certificate(CertificateArn=first["certificate_arn"])["Certificate"]
    assert described["Type"] == "AMAZON_ISSUED"
    assert described["DomainValidationOptions"][0]["ValidationMethod"] == "DNS"
    tags = {
        t["Key"]: t["Value"] for t in acm.list_tags_for_certificate(CertificateArn=first["certificate_arn"])["Tags"]
    }
    assert tags == {"Name": "pacs-admin", "Project": "pacs"}

    again = ok(main, args(wait_until_issued=True))
    assert not again.changed
    assert again["certificate_arn"] == first["certificate_arn"]
    assert again["status"] == "ISSUED"
    assert len(certificates(acm)) == 1


def test_tags_are_updated_but_the_name_tag_stays(acm):
    arn = ok(main, args())["certificate_arn"]
    assert ok(main, args(tags={"Owner": "ops"})).changed
    tags = {t["Key"]: t["Value"] for t in acm.list_tags_for_certificate(CertificateArn=arn)["Tags"]}
    assert tags == {"Name": "pacs-admin", "Owner": "ops"}
    assert not ok(main, args(tags={"Owner": "ops"})).changed


def test_another_name_tag_or_domain_gets_its_own_certificate(acm):
    ours = ok(main, args())["certificate_arn"]
    assert ok(main, args(name_tag="other-admin"))["certificate_arn"] != ours
    assert ok(main, args(domain_name="other.example.com"))["certificate_arn"] != ours
    assert len(certificates(acm)) == 3


def test_absent_deletes_the_tagged_certificate_only(acm):
    ok(main, args())
    other = ok(main, args(name_tag="other-admin"))["certificate_arn"]
    assert ok(main, args(state="absent"), check_mode=True).changed
    assert len(certificates(acm)) == 2
    assert ok(main, args(state="absent")).changed
    assert [c["CertificateArn"] for c in certificates(acm)] == [other]
    assert not ok(main, args(state="absent")).changed


def test_a_certificate_not_issued_in_time_fails_with_its_status(acm, monkeypatch):
    monkeypatch.setattr(settings, "ACM_VALIDATION_WAIT", 3600)
    result = run_module(main, args(wait_until_issued=True, wait_timeout=0))
    assert result.failed
    assert "PENDING_VALIDATION" in result["msg"] and "validation records" in result["msg"]
