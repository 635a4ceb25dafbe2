#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: acm_certificate_request
short_description: Request a public ACM certificate validated by DNS, found again by its Name tag
description:
  - Requests an Amazon-issued certificate for O(domain_name) (and O(subject_alternative_names)) with DNS
    validation, and returns the CNAME records that prove the domain is yours. Put them into the domain's
    public zone; ACM then issues the certificate, and renews it by itself while the records stay.
  - The certificate is found again by its C(Name) tag (O(name_tag)) and its domain names; a second run
    changes nothing. One that ACM gave up on (failed, timed out, revoked, expired) is not reused: a new
    one is requested.
  - With O(wait_until_issued), the module waits until ACM has issued the certificate (after the records
    are in place) and fails when it does not within O(wait_timeout) seconds.
  - Tags (O(tags), with the C(Name) tag always kept) are compared and updated in place; see O(purge_tags).
  - C(community.aws.acm_certificate) only imports certificates; this module requests them.
  - Supports check mode; it reports what it would change without calling a mutating API.
version_added: "1.0.0"
options:
  domain_name:
    description: The certificate's main name (the public name of the service).
    type: str
    required: true
  subject_alternative_names:
    description: More names the certificate covers.
    type: list
    elements: str
    default: []
  name_tag:
    description: Value of the certificate's C(Name) tag, how the module finds it again.
    type: str
    required: true
  key_algorithm:
    description: Key type of the certificate.
    type: str
    choices: [RSA_2048, EC_prime256v1, EC_secp384r1]
    default: RSA_2048
  wait_until_issued:
    description: Wait until the certificate is issued.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait with O(wait_until_issued).
    type: int
    default: 1800
  state:
    description: Whether the certificate should exist; C(absent) deletes every certificate with the tag.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Request the admin web's certificate
  acm_certificate_request:
    domain_name: pacs-admin.example.com
    name_tag: pacs-admin
  register: admin_certificate

- name: Prove the name with the validation records
  amazon.aws.route53:
    zone: example.com
    record: "{{ item.name }}"
    type: "{{ item.type }}"
    value: ["{{ item.value }}"]
    ttl: 300
    overwrite: true
    state: present
  loop: "{{ admin_certificate.validation_records }}"

- name: Wait until ACM has issued it
  acm_certificate_request:
    domain_name: pacs-admin.example.com
    name_tag: pacs-admin
    wait_until_issued: true
"""

RETURN = r"""
certificate_arn:
  description: ARN of the certificate; empty in check mode before it exists, and when it is absent.
  returned: always
  type: str
status:
  description: ACM's status of the certificate (C(PENDING_VALIDATION), C(ISSUED), ...).
  returned: always
  type: str
validation_records:
  description: The DNS records that validate the names, one per distinct record.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Record name.
      type: str
    type:
      description: Record type (C(CNAME)).
      type: str
    value:
      description: Record value.
      type: str
"""

import hashlib
import time

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

try:
    from ansible.module_utils import pacs_aws
except ImportError:  # running from the project tree (unit tests)
    from module_utils import pacs_aws

# Statuses of a certificate that ACM will never issue or serve again.
GIVEN_UP = {"FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE"}


def names_of(params):
    return sorted({params["domain_name"], *params["subject_alternative_names"]})


def describe(client, arn):
    return client.describe_certificate(CertificateArn=arn, aws_retry=True)["Certificate"]


def find(client, params, usable_only=True):
    """The certificates tagged Name=name_tag for exactly these names (the usable ones, unless told otherwise)."""
    found = []
    summaries = pacs_aws.paginate(
        client,
        "list_certificates",
        "CertificateSummaryList",
        Includes={"keyTypes": [params["key_algorithm"]]},
    )
    for summary in summaries:
        if summary.get("DomainName") != params["domain_name"]:
            continue
        arn = summary["CertificateArn"]
        tags = pacs_aws.tags_to_dict(client.list_tags_for_certificate(CertificateArn=arn, aws_retry=True).get("Tags"))
        if tags.get("Name") != params["name_tag"]:
            continue
        certificate = describe(client, arn)
        if usable_only and certificate.get("Status") in GIVEN_UP:
            continue
        if sorted(certificate.get("SubjectAlternativeNames") or [params["domain_name"]]) != names_of(params):
            continue
        found.append(certificate)
    return found


def validation_records(certificate):
    records = []
    for option in certificate.get("DomainValidationOptions") or []:
        record = option.get("ResourceRecord")
        if record:
            entry = {"name": record["Name"], "type": record["Type"], "value": record["Value"]}
            if entry not in records:
                records.append(entry)
    return records


def result_of(certificate):
    if certificate is None:
        return {"certificate_arn": "", "status": "", "validation_records": []}
    return {
        "certificate_arn": certificate["CertificateArn"],
        "status": certificate.get("Status", ""),
        "validation_records": validation_records(certificate),
    }


def request(client, params):
    tags = {**(params["tags"] or {}), "Name": params["name_tag"]}
    # The same request twice (a retried run) gets the same certificate within ACM's idempotency hour.
    token = hashlib.sha256("\n".join([params["name_tag"], *names_of(params)]).encode()).hexdigest()[:32]
    kwargs = {
        "DomainName": params["domain_name"],
        "ValidationMethod": "DNS",
        "IdempotencyToken": token,
        "KeyAlgorithm": params["key_algorithm"],
        "Tags": pacs_aws.tags_to_list(tags),
    }
    if params["subject_alternative_names"]:
        kwargs["SubjectAlternativeNames"] = names_of(params)
    arn = client.request_certificate(aws_retry=True, **kwargs)["CertificateArn"]
    # ACM fills in the validation records a few seconds after the request.
    deadline = time.monotonic() + 120
    while True:
        certificate = describe(client, arn)
        if validation_records(certificate) or time.monotonic() > deadline:
            return certificate
        time.sleep(2)


def update_tags(module, client, arn):
    """Bring the certificate's tags to O(tags) (its Name tag kept); whether anything changed."""
    params = module.params
    have = pacs_aws.tags_to_dict(client.list_tags_for_certificate(CertificateArn=arn, aws_retry=True).get("Tags"))
    wanted = None if params["tags"] is None else {**params["tags"], "Name": params["name_tag"]}
    to_set, to_unset = pacs_aws.tag_changes(have, wanted, params["purge_tags"])
    to_unset = [key for key in to_unset if key != "Name"]
    if (to_set or to_unset) and not module.check_mode:
        if to_unset:
            client.remove_tags_from_certificate(
                CertificateArn=arn, Tags=[{"Key": key, "Value": have[key]} for key in to_unset], aws_retry=True
            )
        if to_set:
            client.add_tags_to_certificate(CertificateArn=arn, Tags=pacs_aws.tags_to_list(to_set), aws_retry=True)
    return bool(to_set or to_unset)


def wait_issued(module, client, certificate):
    deadline = time.monotonic() + module.params["wait_timeout"]
    while certificate.get("Status") != "ISSUED":
        if certificate.get("Status") in GIVEN_UP or time.monotonic() > deadline:
            module.fail_json(
                msg=f"certificate {certificate['CertificateArn']} for {module.params['domain_name']} is "
                f"{certificate.get('Status')}, not ISSUED: are its validation records in the public zone?",
                **result_of(certificate),
            )
        time.sleep(10)
        certificate = describe(client, certificate["CertificateArn"])
    return certificate


def ensure_present(module, client):
    params = module.params
    found = find(client, params)
    if len(found) > 1:
        arns = ", ".join(c["CertificateArn"] for c in found)
        raise ValueError(f"{len(found)} certificates are tagged Name={params['name_tag']}: {arns}")
    if not found:
        if module.check_mode:
            module.exit_json(changed=True, **result_of(None))
        certificate, changed = request(client, params), True
    else:
        certificate, changed = found[0], update_tags(module, client, found[0]["CertificateArn"])
    if params["wait_until_issued"] and not module.check_mode:
        certificate = wait_issued(module, client, certificate)
    module.exit_json(changed=changed, **result_of(certificate))


def ensure_absent(module, client):
    found = find(client, module.params, usable_only=False)
    if found and not module.check_mode:
        for certificate in found:
            client.delete_certificate(CertificateArn=certificate["CertificateArn"], aws_retry=True)
    module.exit_json(changed=bool(found), **result_of(None))


def main():
    argument_spec = {
        "domain_name": {"type": "str", "required": True},
        "subject_alternative_names": {"type": "list", "elements": "str", "default": []},
        "name_tag": {"type": "str", "required": True},
        "key_algorithm": {
            "type": "str",
            "choices": ["RSA_2048", "EC_prime256v1", "EC_secp384r1"],
            "default": "RSA_2048",
        },
        "wait_until_issued": {"type": "bool", "default": False},
        "wait_timeout": {"type": "int", "default": 1800},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = pacs_aws.aws_client(module, "acm")
    pacs_aws.run_state(
        module, client, ensure_present, ensure_absent, f"ACM certificate for {module.params['domain_name']}"
    )


if __name__ == "__main__":
    main()
