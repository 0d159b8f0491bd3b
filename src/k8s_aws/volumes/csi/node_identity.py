"""Who this node is, from IMDS only (the node holds no EC2 credentials): instance id, zone,
and how many more volumes it can take (the shipped per-type table, minus the EBS disks the
kernel sees and, for shared limits, the extra network interfaces).

IMDS unreachable (a hop limit of 1 seen from a pod, or not on EC2): the service stays up, logs
one error saying what to do, and retries with back-off; Probe is not ready until IMDS answers
(or both --node-id and --zone were given, which need no IMDS).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from k8s_aws.cloud.errors import NotConfigured
from k8s_aws.cloud.metadata import NodeMetadata, read_node_metadata
from k8s_aws.host import mounts, resolver
from k8s_aws.volumes import attachlimits
from k8s_aws.volumes.csi.settings import DriverSettings

log = logging.getLogger("k8s_aws.csi.node")
KUBELET_CSI = "/kubernetes.io/csi/"  # kubelet's staging and publish paths of CSI volumes
UNREACHABLE = (
    "cannot read this node's identity from the instance metadata service: {error}. In a pod,"
    " the instance's metadata hop limit must be at least 2 (aws ec2 "
    "modify-instance-metadata-options --http-put-response-hop-limit 2), or run with "
    "hostNetwork; off EC2, pass --node-id and --zone. Retrying with back-off."
)


def held_ebs_disks(dirs: resolver.SearchDirs) -> set[str]:
    """EBS disks the kernel sees, except volumes kubelet has staged through CSI (ours
    already count against the limit the scheduler uses)."""
    disks = resolver.ebs_devices(dirs)
    return {name for name in disks if not _staged_by_kubelet(name)}


def _staged_by_kubelet(name: str) -> bool:
    try:
        numbers = mounts.device_numbers(f"/dev/{name}")
    except OSError:
        return False
    return any(KUBELET_CSI in m.mount_point for m in mounts.mounted_from(numbers))


def max_volumes(metadata: NodeMetadata, dirs: resolver.SearchDirs) -> int:
    """0 (no limit stated) for an instance type the table does not know."""
    limit = attachlimits.type_limit(metadata.instance_type)
    if limit is None:
        log.warning("instance type %s is not in the attachment-limit table: no limit stated",
                    metadata.instance_type)
        return 0
    held = held_ebs_disks(dirs)
    available = attachlimits.volumes_available(limit, metadata.interfaces, len(held))
    log.info("%s: %d volumes attachable (%s limit %d, %d interfaces, EBS disks held: %s)",
             metadata.instance_type, available, "shared" if limit.shared else "dedicated",
             limit.maximum, metadata.interfaces, ", ".join(sorted(held)) or "none")
    return available


class NodeIdentity:
    def __init__(self, settings: DriverSettings,
                 fetch: Callable[[], NodeMetadata] = read_node_metadata,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._settings = settings
        self._fetch = fetch
        self._sleep = sleep
        self.metadata: NodeMetadata | None = None
        self.max_volumes = 0
        self.attempts = 0

    @property
    def ready(self) -> bool:
        return self.metadata is not None or bool(self._settings.node_id and self._settings.zone)

    @property
    def node_id(self) -> str:
        return self._settings.node_id or (self.metadata.instance_id if self.metadata else "")

    @property
    def zone(self) -> str:
        return self._settings.zone or (self.metadata.zone if self.metadata else "")

    async def run(self) -> None:
        """Until IMDS answers: one error, then quiet retries, 1 s doubling to the ceiling."""
        delay = 1.0
        while self.metadata is None:
            self.attempts += 1
            try:
                metadata = await asyncio.to_thread(self._fetch)
            except NotConfigured as exc:
                if self.attempts == 1:
                    log.error(UNREACHABLE.format(error=exc))
                else:
                    log.debug("IMDS still unreachable (attempt %d)", self.attempts)
                await self._sleep(delay)
                delay = min(delay * 2, self._settings.imds_retry_max)
                continue
            self.max_volumes = await asyncio.to_thread(
                max_volumes, metadata, self._settings.device_dirs)
            self.metadata = metadata
            if self.attempts > 1:
                log.info("IMDS answered after %d attempts", self.attempts)


