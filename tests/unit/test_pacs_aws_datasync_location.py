"""module_utils/pacs_aws.py: what the DataSync location modules share (present, absent, result, run).

Against an in-memory DataSync of a made-up location type ("nfs"), so that the shared part is tested apart
from the two modules (tests/unit/test_aws_datasync_location_{s3,efs}.py run them against moto).
"""

from __future__ import annotations

import pytest

from module_utils import pacs_aws

URI = "nfs://server/export/"
REQUIRED = ["server_hostname", "agent_arns"]


class Exited(Exception):
    """module.exit_json() or module.fail_json(): the module's result, and whether it failed."""

    def __init__(self, failed, result):
        super().__init__(result.get("msg"))
        self.failed = failed
        self.result = result


class FakeModule:
    def __init__(self, check_mode=False, client=None, **params):
        self.params = {
            "state": "present",
            "replace": False,
            "tags": {"Name": "pacs-nfs"},
            "purge_tags": True,
            "server_hostname": "server",
            "agent_arns": ["arn:agent"],
            **params,
        }
        self.check_mode = check_mode
        self._client = client

    def exit_json(self, **result):
        raise Exited(False, result)

    def fail_json(self, **result):
        raise Exited(True, result)

    def fail_json_aws(self, err, msg):
        raise Exited(True, {"msg": f"{msg}: {err}"})

    def client(self, service, retry_decorator=None):
        assert service == "datasync"
        return self._client


class FakeDataSync:
    """List, describe, delete and tag DataSync locations; the mutating calls are noted in .mutations."""

    def __init__(self):
        self.locations = {}
        self.mutations = []
        self.counter = 0

    def add(self, uri=URI, tags=None, **fields):
        self.counter += 1
        arn = f"arn:aws:datasync:us-east-1:123456789012:location/loc-{self.counter:017x}"
        self.locations[arn] = {"LocationArn": arn, "LocationUri": uri, "Tags": dict(tags or {}), **fields}
        return arn

    def list_locations(self, aws_retry, **kwargs):
        return {
            "Locations": [{"LocationArn": a, "LocationUri": loc["LocationUri"]} for a, loc in self.locations.items()]
        }

    def list_tags_for_resource(self, ResourceArn, aws_retry, **kwargs):
        return {"Tags": [{"Key": k, "Value": v} for k, v in self.locations[ResourceArn]["Tags"].items()]}

    def describe_location_nfs(self, LocationArn, aws_retry):
        shown = {k: v for k, v in self.locations[LocationArn].items() if k != "Tags"}
        return {**shown, "ResponseMetadata": {"HTTPStatusCode": 200}}

    def delete_location(self, LocationArn, aws_retry):
        self.mutations.append(("delete", LocationArn))
        del self.locations[LocationArn]

    def tag_resource(self, ResourceArn, Tags, aws_retry):
        self.mutations.append(("tag", ResourceArn))
        self.locations[ResourceArn]["Tags"].update({t["Key"]: t["Value"] for t in Tags})

    def untag_resource(self, ResourceArn, Keys, aws_retry):
        self.mutations.append(("untag", ResourceArn))
        for key in Keys:
            self.locations[ResourceArn]["Tags"].pop(key)


def differences(described, params):
    return ["server_hostname"] if described.get("ServerHostname") != params["server_hostname"] else []


def create(module, client, tags):
    client.mutations.append(("create", URI))
    arn = client.add(tags=tags, ServerHostname=module.params["server_hostname"])
    return client.describe_location_nfs(LocationArn=arn, aws_retry=True)


def present(module, client):
    with pytest.raises(Exited) as exited:
        pacs_aws.datasync_location_present(
            module, client, URI, kind="nfs", differences=differences, create=create, required_to_create=REQUIRED
        )
    return exited.value


def absent(module, client):
    with pytest.raises(Exited) as exited:
        pacs_aws.datasync_location_absent(module, client, URI)
    return exited.value


def test_result_of_no_location_and_of_one():
    assert pacs_aws.datasync_location_result(None, None) == {"location_arn": None, "location_uri": None}
    described = {"LocationArn": "arn:x", "LocationUri": URI, "ServerHostname": "s", "ResponseMetadata": {}}
    result = pacs_aws.datasync_location_result(described, {"Name": "n", "CamelKey": "v"})
    assert result == {
        "location_arn": "arn:x",
        "location_uri": URI,
        "location": {
            "location_arn": "arn:x",
            "location_uri": URI,
            "server_hostname": "s",
            "tags": {"Name": "n", "CamelKey": "v"},
        },
    }


def test_present_creates_and_check_mode_does_not():
    client = FakeDataSync()
    checked = present(FakeModule(check_mode=True), client)
    assert not checked.failed and checked.result["changed"] and checked.result["location_arn"] is None
    assert client.mutations == []

    made = present(FakeModule(), client)
    assert not made.failed and made.result["changed"]
    assert client.mutations == [("create", URI)]
    assert made.result["location"]["tags"] == {"Name": "pacs-nfs"}
    assert made.result["location"]["server_hostname"] == "server"


def test_present_unchanged_then_tags_updated_in_place():
    client = FakeDataSync()
    arn = client.add(tags={"Name": "pacs-nfs"}, ServerHostname="server")
    same = present(FakeModule(), client)
    assert not same.failed and not same.result["changed"] and same.result["location_arn"] == arn
    retag = present(FakeModule(tags={"Name": "pacs-nfs", "Owner": "ops"}), client)
    assert retag.result["changed"] and retag.result["location"]["tags"] == {"Name": "pacs-nfs", "Owner": "ops"}
    assert client.mutations == [("tag", arn)]


def test_present_difference_fails_unless_replace():
    client = FakeDataSync()
    arn = client.add(tags={"Name": "pacs-nfs"}, ServerHostname="old")
    refused = present(FakeModule(), client)
    assert refused.failed and refused.result["differences"] == ["server_hostname"]
    assert arn in refused.result["msg"] and "replace=true" in refused.result["msg"]

    checked = present(FakeModule(check_mode=True, replace=True), client)
    assert checked.result["changed"] and checked.result["differences"] == ["server_hostname"]
    assert client.mutations == []

    replaced = present(FakeModule(replace=True), client)
    assert replaced.result["changed"] and replaced.result["location_arn"] != arn
    assert client.mutations == [("delete", arn), ("create", URI)]


@pytest.mark.parametrize(
    ("required", "message"),
    [
        (["server_hostname"], "server_hostname is required to create a DataSync NFS location"),
        (REQUIRED, "server_hostname and agent_arns are required to create a DataSync NFS location"),
    ],
)
def test_present_needs_the_options_to_create(required, message):
    client = FakeDataSync()
    with pytest.raises(Exited) as exited:
        pacs_aws.datasync_location_present(
            FakeModule(server_hostname=None), client, URI,
            kind="nfs", differences=differences, create=create, required_to_create=required,
        )  # fmt: skip
    assert exited.value.failed and exited.value.result["msg"] == message
    assert client.mutations == []


def test_present_finds_its_own_by_name():
    client = FakeDataSync()
    other = client.add(tags={"Name": "someone-else"}, ServerHostname="elsewhere")
    made = present(FakeModule(), client)
    assert made.result["changed"] and made.result["location_arn"] != other
    assert ("delete", other) not in client.mutations


def test_absent_deletes_once_and_check_mode_does_not():
    client = FakeDataSync()
    arn = client.add(tags={"Name": "pacs-nfs"})
    checked = absent(FakeModule(check_mode=True, state="absent"), client)
    assert checked.result["changed"] and client.mutations == []
    gone = absent(FakeModule(state="absent"), client)
    assert gone.result == {"changed": True, "location_arn": None, "location_uri": None}
    assert client.mutations == [("delete", arn)]
    again = absent(FakeModule(state="absent"), client)
    assert not again.result["changed"]


def test_run_dispatches_by_state_and_fails_on_ambiguity():
    client = FakeDataSync()
    kwargs = {"kind": "nfs", "differences": differences, "create": create, "required_to_create": REQUIRED}
    with pytest.raises(Exited) as made:
        pacs_aws.datasync_location_run(FakeModule(client=client), URI, **kwargs)
    assert made.value.result["changed"] and client.mutations == [("create", URI)]

    client.add(tags={"Name": "second"})
    with pytest.raises(Exited) as ambiguous:
        pacs_aws.datasync_location_run(FakeModule(client=client, tags=None), URI, **kwargs)
    assert ambiguous.value.failed and "2 DataSync locations" in ambiguous.value.result["msg"]

    with pytest.raises(Exited) as gone:
        pacs_aws.datasync_location_run(FakeModule(client=client, state="absent"), URI, **kwargs)
    assert gone.value.result["changed"] and len(client.locations) == 1
