"""Classic ELB descriptions as AWS gives them: a default health check from the start, the
zones of the subnets, and interfaces that linger for the configured time after deletion."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_aws_sandbox.fidelity.control import FidelityControl

from .conftest import ZONES, Aws, World


@pytest.fixture
def elb(aws: Aws) -> Any:
    return aws.client("elb")


def create_clb(elb: Any, subnets: list[str], name: str = "a1", instance_port: int = 30080) -> None:
    elb.create_load_balancer(
        LoadBalancerName=name, Subnets=subnets,
        Listeners=[{"Protocol": "TCP", "LoadBalancerPort": 80, "InstancePort": instance_port},
                   {"Protocol": "TCP", "LoadBalancerPort": 443, "InstancePort": 30443}],
    )


def describe(elb: Any, name: str = "a1") -> dict[str, Any]:
    found = elb.describe_load_balancers(LoadBalancerNames=[name])["LoadBalancerDescriptions"]
    return dict(found[0])


def test_a_new_classic_elb_has_awss_default_health_check(elb: Any, world: World) -> None:
    create_clb(elb, list(world.subnets.values()), instance_port=31234)
    assert describe(elb)["HealthCheck"] == {
        "Target": "TCP:31234", "Interval": 30, "Timeout": 5,
        "UnhealthyThreshold": 2, "HealthyThreshold": 10,
    }


def test_a_configured_health_check_replaces_the_default(elb: Any, world: World) -> None:
    create_clb(elb, list(world.subnets.values()))
    check = {"Target": "HTTP:31000/healthz", "Interval": 10, "Timeout": 5,
             "UnhealthyThreshold": 6, "HealthyThreshold": 2}
    elb.configure_health_check(LoadBalancerName="a1", HealthCheck=check)
    assert describe(elb)["HealthCheck"] == check


def test_the_zones_of_the_subnets_are_listed_and_follow_them(elb: Any, world: World) -> None:
    create_clb(elb, [world.subnets[ZONES[0]]])
    assert describe(elb)["AvailabilityZones"] == [ZONES[0]]
    elb.attach_load_balancer_to_subnets(LoadBalancerName="a1",
                                        Subnets=[world.subnets[ZONES[1]]])
    assert describe(elb)["AvailabilityZones"] == sorted(ZONES)
    elb.detach_load_balancer_from_subnets(LoadBalancerName="a1",
                                          Subnets=[world.subnets[ZONES[0]]])
    assert describe(elb)["AvailabilityZones"] == [ZONES[1]]


def test_switched_off_the_emulators_description_comes_through(
    control: FidelityControl, elb: Any, world: World
) -> None:
    control.patch_config({"behaviours": {"classic_descriptions": False}})
    create_clb(elb, list(world.subnets.values()))
    found = describe(elb)
    assert "HealthCheck" not in found or not found["HealthCheck"].get("Target")
    assert found.get("AvailabilityZones", []) == []


def test_interfaces_linger_for_the_configured_time(
    control: FidelityControl, elb: Any, ec2: Any, world: World
) -> None:
    control.patch_config({"delays": {"interface_linger": 120.0}})
    create_clb(elb, list(world.subnets.values()))
    elb.delete_load_balancer(LoadBalancerName="a1")

    def interfaces() -> int:
        found = ec2.describe_network_interfaces()["NetworkInterfaces"]
        return sum(1 for i in found if i["Description"] == "ELB a1")

    assert interfaces() == len(ZONES)
    control.advance(100)
    assert interfaces() == len(ZONES)
    control.advance(30)
    assert interfaces() == 0
