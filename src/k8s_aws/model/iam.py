"""What `k8s-aws setup` reads of IAM and EC2, and the actions it plans (plain data shared by
the pure planner in ops/ and the AWS boundary in cloud/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from k8s_aws.model.tags import Tags

__all__ = ["Tags"]  # and the records below; re-exported for ops and cloud

MANAGED_BY_TAG = "k8s-aws/managed-by"
MANAGED_BY = "k8s-aws-setup"


@dataclass(frozen=True)
class PolicyVersion:
    id: str  # v1, v2, ...
    default: bool
    created: str  # ISO time: the oldest is pruned first


@dataclass(frozen=True)
class ObservedPolicy:
    arn: str
    tags: Tags
    document: dict[str, Any]  # the default version's
    versions: tuple[PolicyVersion, ...]


@dataclass(frozen=True)
class ObservedRole:
    name: str
    tags: Tags
    trust: dict[str, Any]
    attached: tuple[str, ...]  # managed policy ARNs


@dataclass(frozen=True)
class ObservedProfile:
    name: str
    tags: Tags
    roles: tuple[str, ...]


@dataclass(frozen=True)
class SetupObserved:
    """None for a name that does not exist; subnets by id (a missing id is absent)."""

    account: str
    policy: ObservedPolicy | None
    roles: dict[str, ObservedRole | None] = field(default_factory=dict)
    profiles: dict[str, ObservedProfile | None] = field(default_factory=dict)
    subnets: dict[str, Tags] = field(default_factory=dict)
    partition: str = "aws"  # of the caller's ARN: aws-cn and aws-us-gov have their own

    def policy_arn(self, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:policy/{name}"


@dataclass(frozen=True)
class SetupAction:
    """One IAM or EC2 change; `op` is the AWS operation, `target` what it changes."""

    op: str
    target: str
    detail: str = ""
    document: dict[str, Any] | None = None
    tags: Tags = ()
    arg: str = ""  # the policy ARN to attach, the version to delete, the role to add

    def describe(self) -> str:
        return f"{self.op} {self.target}" + (f": {self.detail}" if self.detail else "")
