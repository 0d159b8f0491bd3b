"""How many volumes this node can take, from the shipped per-instance-type table (generated
at build time, see `k8s_aws_sandbox.attachlimits`) and what the node already holds.

A "shared" limit (most Nitro types, e.g. m5.large: 27) counts network interfaces and EBS
volumes together and is stated for an instance with one interface; a "dedicated" limit
(e.g. m7i.large: 32) counts EBS volumes only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

TABLE = "attach_limits.json"


@dataclass(frozen=True)
class TypeLimit:
    maximum: int
    shared: bool


@cache
def table() -> dict[str, TypeLimit]:
    """Empty when the table was not generated (a source checkout before `make deps`)."""
    resource = files("k8s_aws.volumes").joinpath(TABLE)
    if not resource.is_file():
        return {}
    data = json.loads(resource.read_text())
    return {name: TypeLimit(int(entry[0]), entry[1] == "shared")
            for name, entry in data["types"].items()}


def type_limit(instance_type: str) -> TypeLimit | None:
    return table().get(instance_type)


def volumes_available(limit: TypeLimit, interfaces: int, ebs_devices: int) -> int:
    """Volumes still attachable: the limit minus the EBS disks the kernel sees (at least the
    root disk) and, for a shared limit, the interfaces beyond the first."""
    used = max(1, ebs_devices)
    if limit.shared:
        used += max(0, interfaces - 1)
    return max(0, limit.maximum - used)
