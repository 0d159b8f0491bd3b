"""What the CSI servers share: the AWS readers and writers, the in-flight guard, device
names held by attaches in flight, and modifications refused for the window."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from k8s_aws.cloud.calls import CallRecorder
from k8s_aws.cloud.ebs import EbsVolumes
from k8s_aws.cloud.instances import InstanceDirectory
from k8s_aws.cloud.services import InstanceLookup, SnapshotService, VolumeService
from k8s_aws.cloud.session import AwsClients
from k8s_aws.cloud.snapshots import EbsSnapshots
from k8s_aws.support.expiring import ExpiringCache
from k8s_aws.support.inflight import InFlight
from k8s_aws.volumes.csi.settings import DriverSettings


@dataclass
class Backend:
    settings: DriverSettings
    volumes: VolumeService
    snapshots: SnapshotService
    instances: InstanceLookup
    inflight: InFlight = field(default_factory=InFlight)
    # instance id -> device names chosen by attaches not yet visible in DescribeInstances.
    reserved_devices: dict[str, set[str]] = field(default_factory=dict)
    refused: ExpiringCache[str, str] = field(default_factory=lambda: ExpiringCache(300.0))

    @classmethod
    def create(cls, settings: DriverSettings, recorder: CallRecorder | None) -> Backend:
        clients = AwsClients(settings.aws, recorder)
        ec2 = clients.client("ec2")
        executor = ThreadPoolExecutor(settings.workers, thread_name_prefix="aws")
        return cls(
            settings=settings,
            volumes=EbsVolumes(ec2, executor, tick_slack=settings.wait_slack),
            snapshots=EbsSnapshots(ec2, executor),
            # One DescribeInstances reads the cluster's whole fleet (publishes to 20 nodes
            # cost one read, not 20); kept 60 s, updated by our own attaches and detaches.
            instances=InstanceDirectory(ec2, executor, ttl=60.0, batch_idle=0.05,
                                        batch_max_wait=0.5, cluster=settings.cluster_name,
                                        fleet_reads=True),
            refused=ExpiringCache(settings.refused_modification_backoff),
        )
