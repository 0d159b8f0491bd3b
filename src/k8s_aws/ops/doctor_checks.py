"""`k8s-aws doctor`'s AWS checks: facts -> PASS / WARN / FAIL lines, each FAIL with its fix.
Pure; subnets are judged by the controllers' own discovery (loadbalancer.subnets)."""

from __future__ import annotations

from typing import Any

from k8s_aws.loadbalancer.subnets import (
    ROLE_ELB,
    ROLE_INTERNAL_ELB,
    NoSubnets,
    select_subnets,
)
from k8s_aws.model.cluster_tag import CLUSTER_TAG_PREFIX
from k8s_aws.model.doctor import AwsFacts, Check, InstanceFacts, Status
from k8s_aws.ops.policy_compare import grants_writes, missing_grants

PASS, WARN, FAIL = Status.PASS, Status.WARN, Status.FAIL


def identity_checks(facts: AwsFacts) -> list[Check]:
    checks = [Check("credentials", PASS, f"caller identity {facts.identity}")]
    if facts.imds:
        checks.append(Check("imds", PASS, f"IMDSv2 answered with a token: instance {facts.imds}"))
        if facts.profile_identity:
            checks.append(Check("instance-profile", PASS,
                                f"instance profile credentials valid: {facts.profile_identity}"))
        else:
            checks.append(Check("instance-profile", FAIL, "IMDS gives no instance profile "
                                "credentials", "attach the controllers' profile: "
                                "vm_extensions k8s-aws-control iam_instance_profile "
                                "(k8s-aws bosh cloud-config)"))
    else:
        checks.append(Check("imds", WARN, f"instance metadata unreachable ({facts.imds_error}): "
                            "not on EC2? checks of this VM are skipped"))
    checks.append(Check("region", PASS, f"{facts.region} (from {facts.region_source})"))
    checks.append(Check("cluster-name", PASS, f"{facts.cluster} (from {facts.cluster_source})"))
    return checks


def instance_tag_checks(facts: AwsFacts, node_instances: dict[str, str]) -> list[Check]:
    """The cluster tag on every node's instance, and on at most one of its groups."""
    key = CLUSTER_TAG_PREFIX + facts.cluster
    checks = []
    for node, instance_id in sorted(node_instances.items()):
        instance = facts.instances.get(instance_id)
        if instance is None:
            continue
        if instance.tag(key) is None:
            checks.append(Check("instance-tags", FAIL, f"instance {instance_id} (Node {node}) "
                                f"has no {key} tag", f"add `{key}: shared` to the deployment's "
                                "tags (k8s-aws bosh ops-file) and redeploy"))
        tagged = [g for g in instance.security_groups
                  if key in dict(facts.group_tags.get(g, ()))]
        if len(tagged) > 1:
            checks.append(Check("node-security-group", FAIL, f"instance {instance_id} has "
                                f"{len(tagged)} groups tagged {key} ({', '.join(tagged)}): the "
                                "load balancer rule would go to several",
                                f"remove {key} from all but one of {', '.join(tagged)}"))
        elif not tagged:
            checks.append(Check("node-security-group", WARN, f"instance {instance_id}: none of "
                                f"its groups is tagged {key}; the first one gets the rule"))
    if not [c for c in checks if c.name == "instance-tags"]:
        checks.append(Check("instance-tags", PASS, f"{len(node_instances)} node instance(s) "
                            f"carry {key}"))
    return checks


def _subnet_check(facts: AwsFacts, zones: set[str], internal: bool) -> Check:
    kind = "internal" if internal else "internet-facing"
    role = ROLE_INTERNAL_ELB if internal else ROLE_ELB
    foreign = sorted(s.id for s in facts.subnets if (internal or s.public) and any(
        k.startswith(CLUSTER_TAG_PREFIX) and k != CLUSTER_TAG_PREFIX + facts.cluster
        for k, _ in s.tags) and (CLUSTER_TAG_PREFIX + facts.cluster) not in dict(s.tags))
    fix = (f"k8s-aws setup --cluster-name {facts.cluster} "
           f"--{'tag-subnets' if internal else 'public-subnets'} SUBNET (adds "
           f"{CLUSTER_TAG_PREFIX}{facts.cluster}=shared and {role}=1)")
    try:
        chosen = select_subnets(list(facts.subnets), facts.cluster, internal)
    except NoSubnets:
        chosen = ()
    by_id = {s.id: s for s in facts.subnets}
    missing = sorted(zones - {by_id[c].zone for c in chosen})
    if missing:
        why = f"; {', '.join(foreign)} tagged for another cluster" if foreign else ""
        return Check(f"subnets-{kind}", FAIL, f"no usable {kind} subnet in zone(s) "
                     f"{', '.join(missing)} where nodes run{why}", fix)
    untagged = [c for c in chosen if by_id[c].tag(CLUSTER_TAG_PREFIX + facts.cluster) is None]
    if untagged:
        return Check(f"subnets-{kind}", WARN, f"{kind} load balancers would use untagged "
                     f"subnets {', '.join(untagged)}: tag them so nothing else changes it ({fix})")
    no_role = [c for c in chosen if by_id[c].tag(role) in (None, "0")]
    if no_role:
        return Check(f"subnets-{kind}", WARN, f"subnets {', '.join(no_role)} lack {role}=1")
    return Check(f"subnets-{kind}", PASS, f"{kind}: {', '.join(chosen)} (tagged, {role}=1)")


def subnet_checks(facts: AwsFacts, zones: set[str]) -> list[Check]:
    if not zones:
        return [Check("subnets", WARN, "no node instance found: subnets not checked")]
    return [_subnet_check(facts, zones, internal) for internal in (True, False)]


def policy_check(facts: AwsFacts, profile: str, wanted: dict[str, Any]) -> Check:
    found = facts.profiles.get(profile)
    if found is None or found.error or not found.role:
        why = found.error if found else "not read"
        return Check("controller-policy", FAIL, f"profile {profile}: {why or 'holds no role'}",
                     f"k8s-aws setup --cluster-name {facts.cluster} --profile {profile}")
    missing = missing_grants(wanted, list(found.documents))
    if missing:
        return Check("controller-policy", FAIL, f"role {found.role} of profile {profile} lacks "
                     f"{', '.join(missing)} (compared with the generated policy)",
                     f"k8s-aws setup --cluster-name {facts.cluster} --profile {profile} "
                     "(attaches the generated policy)")
    return Check("controller-policy", PASS, f"role {found.role} of profile {profile} grants "
                 "every action of the generated policy")


def worker_checks(facts: AwsFacts, workers: list[InstanceFacts]) -> list[Check]:
    checks = []
    for instance in workers:
        if instance.hop_limit > 1:
            checks.append(Check("worker-imds", FAIL, f"worker {instance.id} has IMDS hop limit "
                                f"{instance.hop_limit}: pods can reach instance credentials",
                                "metadata_options: {http_put_response_hop_limit: 1, "
                                "http_tokens: required} on the kubelet vm_extension"))
        policies = facts.profiles.get(instance.profile_arn.rsplit("/", 1)[-1])
        writes = grants_writes(list(policies.documents)) if policies else []
        if writes:
            checks.append(Check("worker-profile", FAIL, f"worker {instance.id}'s profile "
                                f"grants EC2 writes ({', '.join(writes[:3])}...)",
                                "k8s-aws setup (a worker profile with no policy) and "
                                "k8s-aws bosh cloud-config --worker-profile"))
    if not checks:
        checks.append(Check("workers", PASS, f"{len(workers)} worker(s): IMDS hop limit 1, no "
                            "EC2-write profile"))
    return checks


def disk_check(facts: AwsFacts) -> Check:
    if facts.bosh_disks:
        return Check("bosh-disks", WARN, f"{len(facts.bosh_disks)} volume(s) carry "
                     f"{CLUSTER_TAG_PREFIX}{facts.cluster}=owned without an identity tag (BOSH "
                     f"disks: {', '.join(facts.bosh_disks[:3])}): only the identity tags keep "
                     "them safe; prefer `shared` in the deployment tags")
    return Check("bosh-disks", PASS, "no volume carries the cluster tag `owned` alone")
