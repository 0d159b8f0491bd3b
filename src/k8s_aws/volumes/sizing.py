"""Sizes, IOPS and throughput within what EC2 accepts per volume type.

A request is planned into a VolumeSpec before any AWS call: the size rounded up to whole
GiB, checked against the type's range (CapacityError -> OUT_OF_RANGE), IOPS from `iops` or
`iopsPerGB` checked against the type's range and per-GiB ratio (ParameterError).
"""

from __future__ import annotations

from dataclasses import dataclass

from k8s_aws.volumes.errors import CapacityError, ParameterError
from k8s_aws.volumes.parameters import VolumeParameters

GIB = 1024**3
DEFAULT_SIZE_GIB = 100


@dataclass(frozen=True)
class TypeLimits:
    min_gib: int
    max_gib: int
    min_iops: int = 0
    max_iops: int = 0
    iops_per_gib: int = 0
    min_throughput: int = 0
    max_throughput: int = 0


LIMITS = {
    "gp2": TypeLimits(1, 16384),
    "gp3": TypeLimits(1, 65536, 3000, 16000, 500, 125, 1000),
    "io1": TypeLimits(4, 16384, 100, 64000, 50),
    "io2": TypeLimits(4, 65536, 100, 256000, 1000),
    "sc1": TypeLimits(125, 16384),
    "st1": TypeLimits(125, 16384),
    "standard": TypeLimits(1, 1024),
}


@dataclass(frozen=True)
class VolumeSpec:
    """What CreateVolume will ask EC2 for."""

    size_gib: int
    volume_type: str
    iops: int | None = None
    throughput: int | None = None
    encrypted: bool = False
    kms_key_id: str = ""


def round_up_gib(size_bytes: int) -> int:
    return max(1, -(-size_bytes // GIB))


def plan_size(volume_type: str, required_bytes: int, limit_bytes: int) -> int:
    """GiB to create for a CSI capacity range (0 = unset), within the type's limits."""
    limits = LIMITS[volume_type]
    if required_bytes < 0 or limit_bytes < 0:
        raise CapacityError("capacity range: negative bytes")
    if required_bytes:
        size = round_up_gib(required_bytes)
    else:
        size = max(DEFAULT_SIZE_GIB, limits.min_gib)
        if limit_bytes:
            size = min(size, limit_bytes // GIB)
    if limit_bytes and size * GIB > limit_bytes:
        raise CapacityError(
            f"capacity range: {required_bytes} bytes rounds up to {size} GiB, above the limit"
            f" of {limit_bytes} bytes (EBS sizes are whole GiB)"
        )
    if size < limits.min_gib or size > limits.max_gib:
        raise CapacityError(
            f"capacity range: {size} GiB is outside {volume_type}'s"
            f" {limits.min_gib}-{limits.max_gib} GiB"
        )
    return size


def plan_iops(params: VolumeParameters, size_gib: int) -> int | None:
    limits = LIMITS[params.volume_type]
    if params.iops is not None:
        key, iops = "iops", params.iops
    elif params.iops_per_gb is not None:
        key, iops = "iopsPerGB", params.iops_per_gb * size_gib
        if iops < limits.min_iops and params.allow_auto_iops_per_gb_increase:
            iops = limits.min_iops
        iops = min(iops, limits.max_iops, limits.iops_per_gib * size_gib)
    else:
        return None
    if iops < limits.min_iops or iops > limits.max_iops:
        raise ParameterError(
            key, f"{iops} IOPS is outside {params.volume_type}'s"
            f" {limits.min_iops}-{limits.max_iops}"
            + (" (set allowAutoIOPSPerGBIncrease: \"true\" to raise it)"
               if key == "iopsPerGB" else "")
        )
    if iops > limits.iops_per_gib * size_gib:
        raise ParameterError(
            key, f"{iops} IOPS exceeds {limits.iops_per_gib} per GiB for {size_gib} GiB"
            f" of {params.volume_type}"
        )
    return iops


def plan_throughput(params: VolumeParameters) -> int | None:
    if params.throughput is None:
        return None
    limits = LIMITS[params.volume_type]
    if not limits.min_throughput <= params.throughput <= limits.max_throughput:
        raise ParameterError(
            "throughput", f"{params.throughput} MiB/s is outside {params.volume_type}'s"
            f" {limits.min_throughput}-{limits.max_throughput}"
        )
    return params.throughput


def plan_volume(
    params: VolumeParameters, required_bytes: int, limit_bytes: int, min_gib: int = 0
) -> VolumeSpec:
    """The whole spec; `min_gib` is a snapshot's size (a volume is never smaller)."""
    size = plan_size(params.volume_type, required_bytes, limit_bytes)
    size = max(size, min_gib)
    if limit_bytes and size * GIB > limit_bytes:
        raise CapacityError(f"the source snapshot needs {size} GiB, above the limit")
    return VolumeSpec(
        size_gib=size,
        volume_type=params.volume_type,
        iops=plan_iops(params, size),
        throughput=plan_throughput(params),
        encrypted=params.encrypted,
        kms_key_id=params.kms_key_id,
    )


def plan_expansion(volume_type: str, current_gib: int, required_bytes: int,
                   limit_bytes: int) -> int | None:
    """New size in GiB, or None when the volume is already big enough."""
    size = plan_size(volume_type, required_bytes, limit_bytes)
    return size if size > current_gib else None
