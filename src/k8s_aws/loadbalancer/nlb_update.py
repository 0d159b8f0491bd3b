"""Changes to an existing Network LB (pure): what AWS changes in place is planned, what it
cannot change is said in a warning, never silently skipped.

In place: security groups (SetSecurityGroups, for an NLB created with some), subnets
(SetSubnets) and tags (AddTags, RemoveTags). Tags we remove are only the
`additional-resource-tags` keys we set earlier: the NLB carries their names in
`k8s-aws/additional-resource-tags`, so a tag someone else put on it is never taken off.
Elastic IPs and private IPs are fixed at creation: a change is a warning.
"""

from __future__ import annotations

from k8s_aws.model.lb_actions import Action
from k8s_aws.model.loadbalancer import OUR_TAG_PREFIX, reserved_tag
from k8s_aws.model.nlb import DesiredNetworkLB, ObservedNetworkLB
from k8s_aws.model.nlb_actions import AddNlbTags, RemoveNlbTags, SetNlbSecurityGroups, SetNlbSubnets

ADDED_TAGS_KEY = OUR_TAG_PREFIX + "additional-resource-tags"
_SEPARATOR = " "  # AWS tag values allow letters, digits, spaces and _.:/=+-@


def nlb_tags(desired: DesiredNetworkLB) -> tuple[tuple[str, str], ...]:
    """The NLB's own tags: the Service's, plus the names of its additional ones."""
    added = sorted(k for k, _ in desired.tags if not reserved_tag(k) and _SEPARATOR not in k)
    if not added:
        return desired.tags
    return tuple(sorted((*desired.tags, (ADDED_TAGS_KEY, _SEPARATOR.join(added)))))


def update_actions(
    desired: DesiredNetworkLB, lb: ObservedNetworkLB, groups: tuple[str, ...]
) -> tuple[list[Action], list[str]]:
    """(actions, warnings) that bring an existing NLB to the desired groups, subnets, tags."""
    actions: list[Action] = []
    warnings = _address_warnings(desired, lb)
    if not lb.security_groups:
        warnings.append(f"load balancer {lb.name} was created without security groups (AWS "
                        "cannot add them later): it is adopted as is, and the rules that "
                        "admit it to the nodes are left as they are")
    elif set(lb.security_groups) != set(groups):
        actions.append(SetNlbSecurityGroups(lb.arn, lb.name, groups))
    if set(lb.subnets) != set(desired.subnets):
        if desired.subnet_mappings or lb.addresses:
            warnings.append(f"load balancer {lb.name} keeps its subnets "
                            f"{', '.join(lb.subnets)}: its static addresses are tied to them")
        else:
            actions.append(SetNlbSubnets(lb.arn, lb.name, tuple(sorted(desired.subnets))))
    actions += _tag_actions(desired, lb)
    return actions, warnings


def _tag_actions(desired: DesiredNetworkLB, lb: ObservedNetworkLB) -> list[Action]:
    have, want = dict(lb.tags), dict(nlb_tags(desired))
    ours_before = set((have.get(ADDED_TAGS_KEY) or "").split(_SEPARATOR)) - {""}
    drop = tuple(sorted(k for k in ours_before | {ADDED_TAGS_KEY}
                        if k in have and k not in want))
    add = tuple((k, v) for k, v in sorted(want.items()) if have.get(k) != v)
    actions: list[Action] = []
    if drop:
        actions.append(RemoveNlbTags(lb.arn, lb.name, drop))
    if add:
        actions.append(AddNlbTags(lb.arn, lb.name, add))
    return actions


def _address_warnings(desired: DesiredNetworkLB, lb: ObservedNetworkLB) -> list[str]:
    """AWS cannot change a live NLB's Elastic IPs or private IPs."""
    want = {s: (a, ip) for s, a, ip in desired.subnet_mappings}
    have = {s: (a, ip) for s, a, ip in lb.addresses}
    warnings = []
    eips = {s: a for s, (a, _) in want.items() if a}
    if eips != {s: a for s, (a, _) in have.items() if a}:
        now = ", ".join(a for _, (a, _) in sorted(have.items()) if a) or "none"
        warnings.append(f"load balancer {lb.name} keeps its Elastic IPs ({now}): AWS cannot "
                        "change an NLB's eip-allocations; delete and recreate the Service "
                        "to use others")
    ips = {s: ip for s, (_, ip) in want.items() if ip}
    if ips and ips != {s: ip for s, (_, ip) in have.items() if ip and s in ips}:
        now = ", ".join(ip for _, (_, ip) in sorted(have.items()) if ip) or "none"
        warnings.append(f"load balancer {lb.name} keeps its private IPs ({now}): AWS cannot "
                        "change an NLB's private-ipv4-addresses; delete and recreate the "
                        "Service to use others")
    return warnings
