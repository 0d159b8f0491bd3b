"""The emulator's fast tag paths answer exactly what moto's own do."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from moto.backends import get_backend
from moto.ec2 import utils as moto_utils
from moto.ec2.models.core import TaggedEC2Resource

from k8s_aws_sandbox.moto_tags import resource_tags, tag_filter_matches


def test_resource_tags_match_motos_own_lookup() -> None:
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-west-2", aws_access_key_id="k",
                           aws_secret_access_key="s")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ids = [ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[{
            "ResourceType": "instance", "Tags": [{"Key": "id", "Value": f"u{n}"},
                                                 {"Key": "Name", "Value": f"w/{n}"}]}],
        )["Instances"][0]["InstanceId"] for n in range(3)]
        ec2.create_tags(Resources=[ids[0]], Tags=[{"Key": "extra", "Value": ""}])
        backend = get_backend("ec2")["123456789012"]["us-west-2"]
        instances = [i for r in backend.reservations.values() for i in r.instances]
        assert len(instances) == 3
        for instance in instances:
            expected = TaggedEC2Resource.get_tags(instance)
            assert expected and sorted(resource_tags(instance), key=str) == sorted(
                expected, key=str)
        vpc = next(iter(backend.vpcs.values()))
        assert resource_tags(vpc) == TaggedEC2Resource.get_tags(vpc)


class Tagged:
    def __init__(self, tags: dict[str, str]) -> None:
        self._tags = tags

    def get_tags(self) -> list[dict[str, str]]:
        return [{"key": k, "value": v} for k, v in self._tags.items()]


@pytest.mark.parametrize("filter_name", ["tag:id", "tag-key", "tag-value", "tag:Name"])
@pytest.mark.parametrize("values", [
    ["u1"], ["u2", "u1"], ["nope"], ["u*"], ["?1"], ["[u]1"], ["w/1"], ["w/*"], ["id", "x"],
    [f"u{n}" for n in range(200)], ["*"], [""],
])
@pytest.mark.parametrize("tags", [{"id": "u1", "Name": "w/1"}, {"id": ""}, {}])
def test_tag_filters_match_as_motos_own(
    filter_name: str, values: list[str], tags: dict[str, str]
) -> None:
    obj = Tagged(tags)
    assert tag_filter_matches(obj, filter_name, values) == moto_utils.tag_filter_matches(
        obj, filter_name, values)
