"""A terminated instance's private IP is free again, as on AWS: the next instance may get
it, and with it the same private DNS name (a BOSH VM recreated with its static IP)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from k8s_aws_sandbox.fidelity.control import FidelityControl

from .conftest import World, launch


def describe(ec2: Any, instance_id: str) -> dict[str, Any]:
    return dict(ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0][
        "Instances"][0])


def relaunch(ec2: Any, world: World, old: dict[str, Any]) -> dict[str, Any]:
    return dict(ec2.run_instances(
        ImageId=world.image, InstanceType="m5.large", MinCount=1, MaxCount=1,
        SubnetId=old["SubnetId"], PrivateIpAddress=old["PrivateIpAddress"],
        SecurityGroupIds=[world.group])["Instances"][0])


def test_a_terminated_instances_address_goes_to_the_next_instance(
    ec2: Any, world: World
) -> None:
    old = describe(ec2, world.instance)
    with pytest.raises(ClientError):  # taken while the instance lives
        relaunch(ec2, world, old)
    ec2.terminate_instances(InstanceIds=[world.instance])
    new = relaunch(ec2, world, old)
    assert new["InstanceId"] != old["InstanceId"]
    assert new["PrivateDnsName"] == old["PrivateDnsName"]
    assert describe(ec2, world.instance)["State"]["Name"] == "terminated"
    # The address now belongs to the new instance alone: it is not handed out a third time.
    with pytest.raises(ClientError):
        relaunch(ec2, world, old)


def test_without_the_behaviour_the_address_stays_taken(
    ec2: Any, world: World, control: FidelityControl
) -> None:
    control.patch_config({"behaviours": {"released_addresses": False}})
    old = describe(ec2, world.instance)
    ec2.terminate_instances(InstanceIds=[world.instance])
    with pytest.raises(ClientError):
        relaunch(ec2, world, old)


def test_instance_topology_is_an_empty_set_for_types_without_topology_data(
    control: FidelityControl, ec2: Any, world: World
) -> None:
    answer = ec2.describe_instance_topology(InstanceIds=[world.instance])
    assert answer["Instances"] == []
    assert control.calls()[-1].status == 200


def test_instance_topology_for_a_family_that_has_it(ec2: Any, world: World) -> None:
    zone = describe(ec2, world.instance)["Placement"]["AvailabilityZone"]
    big = launch(ec2, world.image, describe(ec2, world.instance)["SubnetId"], world.group,
                 "p4d.24xlarge")
    other = launch(ec2, world.image, describe(ec2, world.instance)["SubnetId"], world.group,
                   "p4d.24xlarge")
    found = ec2.describe_instance_topology(InstanceIds=[big, other, world.instance])["Instances"]
    assert sorted(t["InstanceId"] for t in found) == sorted([big, other])
    first, second = found
    assert first["InstanceType"] == "p4d.24xlarge" and first["AvailabilityZone"] == zone
    assert first["ZoneId"]
    assert len(first["NetworkNodes"]) == 3
    assert first["NetworkNodes"][:2] == second["NetworkNodes"][:2]  # same zone, same spine
    assert first["NetworkNodes"][2] != second["NetworkNodes"][2]
    assert ec2.describe_instance_topology()["Instances"]  # no ids: every instance with data


def test_instance_topology_refuses_more_than_100_ids(ec2: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        ec2.describe_instance_topology(InstanceIds=[f"i-{n:017x}" for n in range(101)])
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_switched_off_instance_topology_is_the_emulators_500(
    control: FidelityControl, ec2: Any, world: World
) -> None:
    control.patch_config({"behaviours": {"instance_topology": False}})
    with pytest.raises(ClientError) as excinfo:
        ec2.describe_instance_topology(InstanceIds=[world.instance])
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
