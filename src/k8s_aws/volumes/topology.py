"""Which zone a volume goes to: the first preferred topology (the node the scheduler chose
under WaitForFirstConsumer), else a requisite one, else the driver's own zone. Both the
well-known key and the reference driver's older key are read, so existing PVs keep working."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from k8s_aws.volumes.errors import TopologyError

ZONE_KEY = "topology.kubernetes.io/zone"
LEGACY_ZONE_KEY = "topology.ebs.csi.aws.com/zone"
ZONE_KEYS = (ZONE_KEY, LEGACY_ZONE_KEY)

Segments = Mapping[str, str]


def zone_of(segments: Segments) -> str | None:
    for key in ZONE_KEYS:
        if segments.get(key):
            return segments[key]
    return None


def choose_zone(requisite: Sequence[Segments], preferred: Sequence[Segments],
                default_zone: str) -> str:
    allowed = [z for z in (zone_of(s) for s in requisite) if z]
    for segments in preferred:
        zone = zone_of(segments)
        if zone and (not allowed or zone in allowed):
            return zone
    if allowed:
        return default_zone if default_zone in allowed else allowed[0]
    if requisite and any(s for s in requisite):
        raise TopologyError(
            f"no zone in the accessibility requirements (keys {', '.join(ZONE_KEYS)})"
        )
    if not default_zone:
        raise TopologyError("no zone requested and the driver's own zone is unknown")
    return default_zone


def accessible_topology(zone: str) -> dict[str, str]:
    return {ZONE_KEY: zone, LEGACY_ZONE_KEY: zone}

