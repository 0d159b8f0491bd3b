"""Security group rules AWS enforces and the emulator does not, as pure functions.

AWS counts rules per group, per direction, and separately for IPv4 and IPv6; a rule that
references a security group or a prefix list counts once in each family.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from k8s_aws_sandbox.fidelity.responses import Refusal

# EC2 query names: IpPermissions.N.<list>.M.<field>; `Groups` is UserIdGroupPairs on the wire.
_PERMISSION_ENTRY = re.compile(
    r"^IpPermissions\.\d+\.(IpRanges|Ipv6Ranges|Groups|UserIdGroupPairs|PrefixListIds)\.\d+\."
    r"(CidrIp|CidrIpv6|GroupId|GroupName|PrefixListId)$"
)


@dataclass(frozen=True)
class RuleCounts:
    ipv4: int = 0
    ipv6: int = 0


def requested_rules(params: Mapping[str, str]) -> RuleCounts:
    """Rules an Authorize* call adds, counted the way the quota counts them."""
    ipv4 = ipv6 = 0
    for key in params:
        match = _PERMISSION_ENTRY.match(key)
        if not match:
            continue
        kind = match.group(1)
        if kind == "IpRanges":
            ipv4 += 1
        elif kind == "Ipv6Ranges":
            ipv6 += 1
        elif match.group(2) != "GroupName" or _group_id_key(key) not in params:
            # a group pair names its group by id, by name, or both: count it once
            ipv4 += 1
            ipv6 += 1
    if params.get("CidrIp"):  # the legacy single-rule form
        ipv4 += 1
    if params.get("SourceSecurityGroupName") or params.get("SourceSecurityGroupOwnerId"):
        ipv4 += 1
        ipv6 += 1
    return RuleCounts(ipv4, ipv6)


def _group_id_key(group_name_key: str) -> str:
    return group_name_key[: -len("GroupName")] + "GroupId"


def rule_limit_refusal(existing: RuleCounts, added: RuleCounts, limit: int) -> Refusal | None:
    if (added.ipv4 and existing.ipv4 + added.ipv4 > limit) or (
        added.ipv6 and existing.ipv6 + added.ipv6 > limit
    ):
        return Refusal(
            "RulesPerSecurityGroupLimitExceeded",
            "The maximum number of rules per security group has been reached.",
        )
    return None


def delete_group_refusal(
    group_id: str, group_name: str, is_default: bool, dependents: Sequence[str]
) -> Refusal | None:
    if is_default:
        return Refusal(
            "CannotDelete",
            f'the specified group: "{group_id}" name: "{group_name}" cannot be deleted by a user',
        )
    if dependents:
        return Refusal("DependencyViolation", f"resource {group_id} has a dependent object")
    return None
