"""What `k8s-aws doctor` learns about the cluster's AWS set-up, and what it concludes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from k8s_aws.model.network import SubnetRecord
from k8s_aws.model.tags import Tagged, Tags


class Status(enum.Enum):
    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str
    fix: str = ""  # for a FAIL: the one command or setting that fixes it

    def to_json(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status.value, "message": self.message,
                "fix": self.fix}


@dataclass(frozen=True)
class InstanceFacts(Tagged):
    id: str
    zone: str
    vpc_id: str
    tags: Tags
    security_groups: tuple[str, ...]
    profile_arn: str
    hop_limit: int
    http_tokens: str


@dataclass(frozen=True)
class ProfilePolicies:
    """The documents granted to an instance profile's role (attached and inline)."""

    profile: str
    role: str
    documents: tuple[dict[str, Any], ...]
    error: str = ""


@dataclass(frozen=True)
class NodeFacts:
    name: str
    provider_id: str
    initialized: bool  # providerID set and the uninitialized taint gone
    control: bool  # the release's master label (or control-plane)
    instances: tuple[str, ...]  # live instances the controllers' lookups find for it
    tried: str  # the lookups, as the controllers' Warning would name them


@dataclass(frozen=True)
class AwsFacts:
    region: str
    region_source: str
    cluster: str
    cluster_source: str
    imds: str  # instance id from IMDSv2, or "" when unreachable
    imds_error: str
    identity: str  # caller identity ARN of the credentials in use
    profile_identity: str  # of the instance profile's credentials (IMDS), if reachable
    instances: dict[str, InstanceFacts] = field(default_factory=dict)
    group_tags: dict[str, Tags] = field(default_factory=dict)
    subnets: tuple[SubnetRecord, ...] = ()
    profiles: dict[str, ProfilePolicies] = field(default_factory=dict)  # by profile ARN/name
    bosh_disks: tuple[str, ...] = ()  # volumes with the cluster tag `owned` and no identity tag


@dataclass(frozen=True)
class ClusterFacts:
    nodes: tuple[NodeFacts, ...]
    csi_driver: bool
    csi_nodes: frozenset[str]  # Nodes whose CSINode lists the driver
    error: str = ""  # the API server could not be read
