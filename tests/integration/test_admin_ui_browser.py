"""The admin web in a real browser (Debian's Chromium, driven by Playwright), through the lab's ALB.

The ALB's stand-in (role lab_alb: oauth2-proxy) signs the user in with a form and keeps the session
in a cookie, as the ALB with Cognito does on AWS; behind it nginx and the PACS's own web UI.

- Both engines: without a session the browser gets the ALB's sign-in page, a wrong password is
  refused there, the right one sets a session cookie that is Secure, HttpOnly and SameSite=Lax, and a
  second browser context (no cookie) is back at the sign-in page.
- Dicoogle (archive supplied): past the ALB, Dicoogle's own login with the deployment's administrator
  (its token travels in the Authorization header, through the ALB and nginx untouched), a search for
  the smoke study's patient, and that patient's study with the date and description of the CT files
  in data/dicom (read from the files, not written here). A screenshot of the result is kept in
  .lab/test-logs/.

Chromium trusts the admin web's certificate by its public key (--ignore-certificate-errors-spki-list
with the key of the certificate in Secrets Manager): any other certificate is still refused, so this
is not a switched-off TLS check. Chromium and Playwright are installed by set-up and the venv; when
either is missing the test fails with the reason, it never skips.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path

import pydicom
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support.ansible_run import ROOT
from tests.support.lab_admin import ADMIN_URL, DEPLOYMENT
from tests.support.lab_aws import lab_client

CHROMIUM = "/usr/bin/chromium"
SMOKE_DATA = ROOT / "data" / "dicom"
SCREENSHOTS = ROOT / ".lab" / "test-logs"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def lab(site_first_run):
    assert site_first_run.returncode == 0, "the lab did not come up:\n" + site_first_run.report()
    return site_first_run


@pytest.fixture(scope="module")
def secrets() -> dict:
    client = lab_client("secretsmanager")

    def read(name: str) -> str:
        return client.get_secret_value(SecretId=f"{DEPLOYMENT}/{name}")["SecretString"]

    return {
        "admin": json.loads(read("admin-web/users"))["users"][0],
        "certificate": json.loads(read("pki/admin-web"))["certificate"],
    }


@pytest.fixture(scope="module")
def browser(lab, secrets):
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: set-up installs Debian's chromium (controller_packages)"
    from playwright.sync_api import sync_playwright

    certificate = x509.load_pem_x509_certificate(secrets["certificate"].encode())
    spki = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    pin = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    with sync_playwright() as playwright:
        # --no-sandbox: the tests run as root, where Chromium's sandbox will not start.
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", f"--ignore-certificate-errors-spki-list={pin}"]
        )
        yield chromium
        chromium.close()


def _exactly(text: str) -> re.Pattern:
    """A cell's whole text (Dicoogle's table cells pad theirs with spaces)."""
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def _sign_in_page(page):
    page.goto(ADMIN_URL + "/", timeout=TIMEOUT_MS)
    return page.locator('form[action="/oauth2/sign_in"]')


def _sign_in(page, name: str, password: str):
    form = _sign_in_page(page)
    form.locator("input[name=username]").fill(name)
    form.locator("input[name=password]").fill(password)
    with page.expect_navigation(timeout=TIMEOUT_MS):
        form.locator("button").click()


def test_the_alb_signs_in_with_a_form_and_keeps_the_session_in_a_secure_cookie(browser, secrets):
    admin = secrets["admin"]
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(ADMIN_URL + "/", timeout=TIMEOUT_MS)
        assert response.status == 403 and page.locator('form[action="/oauth2/sign_in"]').count() == 1
        assert not context.cookies()

        _sign_in(page, admin["name"], "not-" + admin["password"])
        assert page.locator('form[action="/oauth2/sign_in"]').count() == 1, "a wrong password got past the ALB"
        assert not [c for c in context.cookies() if c["name"] == "pacs_admin_session"]

        _sign_in(page, admin["name"], admin["password"])
        assert page.locator('form[action="/oauth2/sign_in"]').count() == 0, page.content()[:2000]
        session = [c for c in context.cookies() if c["name"] == "pacs_admin_session"]
        assert len(session) == 1, context.cookies()
        assert session[0]["secure"] and session[0]["httpOnly"] and session[0]["sameSite"] == "Lax", session
    finally:
        context.close()

    other = browser.new_context()
    try:
        assert _sign_in_page(other.new_page()).count() == 1, "a browser without the cookie got past the ALB"
    finally:
        other.close()


@pytest.mark.skipif(
    not os.environ.get("PACS_DICOOGLE_ARCHIVE"),
    reason="NOT RUN: no Dicoogle archive (PACS_DICOOGLE_ARCHIVE unset): the lab runs Orthanc, whose UI this "
    "test does not drive; the sign-in test above runs on both engines",
)
def test_dicoogles_web_ui_behind_the_alb_finds_the_smoke_study(browser, secrets):
    admin = secrets["admin"]
    studies = {
        (str(ds.PatientID), str(ds.StudyDate), str(ds.StudyDescription))
        for ds in (pydicom.dcmread(path, stop_before_pixels=True) for path in sorted(SMOKE_DATA.glob("*.dcm")))
    }
    assert len(studies) == 1, studies
    ((patient_id, study_date, study_description),) = studies

    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        _sign_in(page, admin["name"], admin["password"])
        # Dicoogle's own login page, served through the ALB and nginx.
        page.wait_for_url("**/#/login")
        page.locator("#username").fill(admin["name"])
        page.locator("#password").fill(admin["password"])
        page.locator("button.btn_dicoogle").click()
        page.wait_for_url("**/#/search")

        page.locator("input.react-autosuggest__input").fill(patient_id)
        page.locator("#search-btn").click()
        patient = page.locator("td", has_text=_exactly(patient_id))
        patient.first.wait_for()
        patient.first.click()
        study = page.locator("tr", has=page.locator("td", has_text=_exactly(study_date))).filter(
            has=page.locator("td", has_text=_exactly(study_description))
        )
        study.first.wait_for()
        assert study.count() == 1, page.content()[:4000]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "admin-ui-dicoogle-study.png"), full_page=True)
    finally:
        context.close()
