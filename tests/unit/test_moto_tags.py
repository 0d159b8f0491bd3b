"""The emulator's fast path to a resource's tags answers exactly what moto's own does."""

from __future__ import annotations

import boto3
from moto import mock_aws
from moto.backends import get_backend
from moto.ec2.models.core import TaggedEC2Resource

from k8s_aws.sandbox.moto_tags import resource_tags


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
