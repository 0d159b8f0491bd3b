"""The cloud services the CSI driver and the Service controller use, as Protocols: the
boto3-backed classes of cloud/ implement them; unit tests may put in-memory fakes
(tests/fakes/) in their place. Every method raises only our errors (cloud/errors.py). A
fake must behave as the real one does, error kinds included: the contract tests
(tests/fidelity/test_ebs_contract.py, tests/integration/test_lb_contract.py) run the same
cases against both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from k8s_aws.cloud.ebs import CreateRequest
from k8s_aws.cloud.lb_registry import Applied
from k8s_aws.model.instance import InstanceId, InstanceRecord
from k8s_aws.model.lb_actions import Plan
from k8s_aws.model.loadbalancer import Observed, ObservedGroup, ObservedLoadBalancer
from k8s_aws.model.nlb import ObservedNetworkLB, ObservedTargetGroup
from k8s_aws.model.volume import (
    InstanceTypeRecord,
    ModificationRecord,
    SnapshotRecord,
    VolumeRecord,
)


class VolumeService(Protocol):
    """EBS volumes: reads (a gone volume is None), create by client token, attach, modify."""

    async def get(self, volume_id: str) -> VolumeRecord | None: ...

    def known(self, volume_id: str, max_age: float) -> VolumeRecord | None: ...

    async def wait(self, volume_id: str, done: Callable[[VolumeRecord | None], bool], *,
                   kind: str, timeout: float, what: str) -> VolumeRecord | None: ...

    async def find_by_name(self, name: str) -> VolumeRecord | None: ...

    async def create(self, request: CreateRequest) -> VolumeRecord: ...

    async def delete(self, volume_id: str) -> bool: ...

    async def attach(self, volume_id: str, instance_id: str, device: str) -> str: ...

    async def detach(self, volume_id: str, instance_id: str) -> None: ...

    async def modify(self, volume_id: str, size_gib: int | None = None,
                     volume_type: str | None = None, iops: int | None = None,
                     throughput: int | None = None) -> ModificationRecord: ...

    async def modification(self, volume_id: str) -> ModificationRecord | None: ...

    async def instance_type(self, name: str) -> InstanceTypeRecord: ...


class SnapshotService(Protocol):
    async def get(self, snapshot_id: str) -> SnapshotRecord | None: ...

    async def find_by_name(self, name: str) -> SnapshotRecord | None: ...

    async def list_ours(self) -> list[SnapshotRecord]: ...

    async def create(self, volume_id: str, tags: dict[str, str]) -> SnapshotRecord: ...

    async def delete(self, snapshot_id: str) -> bool: ...


class InstanceLookup(Protocol):
    """Instances by id, from a cache at most `max_age` seconds old (0: read now)."""

    async def get(self, instance_id: InstanceId,
                  max_age: float | None = None) -> InstanceRecord | None: ...

    def forget(self, instance_id: InstanceId | str) -> None: ...

    def note_attached(self, instance_id: InstanceId | str, device: str,
                      volume_id: str) -> None: ...

    def note_detached(self, instance_id: InstanceId | str, volume_id: str) -> None: ...


class InstanceDirectoryReads(InstanceLookup, Protocol):
    """What the node controllers ask (cloud.instances.InstanceDirectory): instances by id
    or by an EC2 filter (private DNS name, tag, IP), and zone ids."""

    async def find(self, filter_name: str, values: Sequence[str],
                   max_age: float | None = None) -> tuple[InstanceRecord, ...]: ...

    def forget_values(self, filter_name: str, values: Sequence[str]) -> None: ...

    async def zone_id(self, zone: str) -> str | None: ...


class LoadBalancerReads(Protocol):
    """The Service controller's view of AWS: one Service's snapshot, and the fleet-wide
    summaries of the drift sweep (cloud.lb_observer.LoadBalancerObserver)."""

    async def observe(
        self, name: str, instance_ids: tuple[str, ...], *, known: Observed | None = None,
        check_backend_users: bool = False, family: str = ..., previous: bool = False,
        service: tuple[str, str] = ("", ""), cluster_backend: Observed | None = None,
    ) -> Observed: ...

    async def deletion_snapshots(self, names: set[str]) -> dict[str, Observed]: ...

    async def nlb_deletion_snapshots(
        self, services: dict[str, tuple[str, str]]) -> dict[str, Observed]: ...

    async def admitting(self, backend: str) -> set[str]: ...

    async def fleet(self, names: set[str]) -> dict[str, ObservedLoadBalancer]: ...

    async def nlb_fleet(
        self, names: set[str]
    ) -> dict[str, tuple[ObservedNetworkLB, tuple[ObservedTargetGroup, ...]]]: ...

    async def fleet_groups(self) -> dict[str, ObservedGroup]: ...


class LoadBalancerWrites(Protocol):
    """Applies a plan's actions in order (cloud.clb.LoadBalancerApplier)."""

    async def apply(self, plan: Plan, vpc_id: str) -> Applied: ...
