import json

from k8s_aws_sandbox.metadata import InstanceFacts, lookup, metadata_tree

FACTS = InstanceFacts(
    instance_id="i-0123456789abcdef0", instance_type="m5.large", image_id="ami-1",
    region="us-west-2", zone="us-west-2b", zone_id="usw2-az2", private_ip="10.0.32.4",
    private_dns="ip-10-0-32-4.us-west-2.compute.internal", mac="0a:00:00:00:00:01",
    interface_id="eni-1", subnet_id="subnet-1", subnet_cidr="10.0.32.0/20", vpc_id="vpc-1",
    vpc_cidr="10.0.0.0/16", security_group_ids=("sg-1", "sg-2"),
    security_group_names=("a", "b"), account_id="123456789012", role_name="ctl",
    profile_arn="arn:aws:iam::123456789012:instance-profile/ctl",
    launch_time="2026-01-01T00:00:00Z",
)
TREE = metadata_tree(FACTS, lambda: '{"Code": "Success"}')


def test_leaves_are_served_with_and_without_trailing_slash() -> None:
    assert lookup(TREE, "meta-data/placement/availability-zone") == "us-west-2b"
    assert lookup(TREE, "meta-data/placement/availability-zone/") == "us-west-2b"
    assert lookup(TREE, "meta-data/placement/region") == "us-west-2"


def test_directories_list_their_entries_with_subdirectories_marked() -> None:
    listing = lookup(TREE, "meta-data/").splitlines()  # type: ignore[union-attr]
    assert "instance-id" in listing and "placement/" in listing and "iam/" in listing
    assert lookup(TREE, "meta-data/iam/security-credentials/") == "ctl"
    assert lookup(TREE, "meta-data/network/interfaces/macs/") == "0a:00:00:00:00:01/"


def test_interface_tree_matches_the_instance() -> None:
    base = "meta-data/network/interfaces/macs/0a:00:00:00:00:01/"
    assert lookup(TREE, base + "local-ipv4s") == "10.0.32.4"
    assert lookup(TREE, base + "subnet-id") == "subnet-1"
    assert lookup(TREE, base + "security-group-ids") == "sg-1\nsg-2"


def test_credentials_are_computed_per_request() -> None:
    calls = []
    tree = metadata_tree(FACTS, lambda: calls.append(1) or "creds")  # type: ignore[func-returns-value]
    assert lookup(tree, "meta-data/iam/security-credentials/ctl") == "creds"
    assert lookup(tree, "meta-data/iam/security-credentials/ctl") == "creds"
    assert len(calls) == 2


def test_identity_document_is_consistent() -> None:
    doc = json.loads(lookup(TREE, "dynamic/instance-identity/document") or "")
    assert doc["instanceId"] == FACTS.instance_id
    assert doc["availabilityZone"] == "us-west-2b"
    assert doc["region"] == "us-west-2"
    assert doc["privateIp"] == "10.0.32.4"


def test_unknown_paths_are_not_found() -> None:
    assert lookup(TREE, "meta-data/nope") is None
    assert lookup(TREE, "meta-data/instance-id/extra") is None


def test_no_iam_tree_without_an_instance_profile() -> None:
    bare = metadata_tree(
        InstanceFacts(**{**FACTS.__dict__, "role_name": None, "profile_arn": None}),
        lambda: "",
    )
    assert lookup(bare, "meta-data/iam/info") is None
