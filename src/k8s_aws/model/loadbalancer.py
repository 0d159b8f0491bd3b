"""The desired and observed shapes of a Classic ELB and its security groups (plain data,
shared by the planner and the AWS boundary)."""

from __future__ import annotations

from dataclasses import dataclass, field

from k8s_aws.model.cluster_tag import CLUSTER_TAG_PREFIX, OWNED, cluster_tag_key
from k8s_aws.model.ids import LoadBalancerName, SecurityGroupId
from k8s_aws.model.instance import InstanceRecord
from k8s_aws.model.network import GroupRecord, SubnetRecord
from k8s_aws.model.nlb import ObservedNetworkLB, ObservedTargetGroup
from k8s_aws.model.tags import Tagged

__all__ = ["CLUSTER_TAG_PREFIX"]  # and the shapes below; re-exported for the planners
SERVICE_NAME_TAG = "kubernetes.io/service-name"
OUR_TAG_PREFIX = "k8s-aws/"
BACKEND_ROLE_TAG = OUR_TAG_PREFIX + "role"
BACKEND_ROLE = "lb-backends"
PROXY_POLICY = "k8s-proxyprotocol-enabled"
SSL_POLICY_PREFIX = "k8s-SSLNegotiationPolicy-"
NODE_RULE_DESCRIPTION = "k8s-aws: load balancers of cluster {cluster}"


@dataclass(frozen=True, order=True)
class Listener:
    lb_port: int
    protocol: str  # TCP | SSL | HTTP | HTTPS
    instance_port: int
    instance_protocol: str
    certificate: str = ""


@dataclass(frozen=True)
class HealthCheck:
    """No defaults here: the Classic ELB defaults live in `loadbalancer.build`."""

    target: str  # e.g. TCP:30080, HTTP:31000/healthz
    healthy_threshold: int
    unhealthy_threshold: int
    interval: int
    timeout: int


@dataclass(frozen=True)
class Attributes:
    cross_zone: bool = False
    draining_enabled: bool = False
    draining_timeout: int = 300
    idle_timeout: int = 60
    access_log_enabled: bool = False
    access_log_interval: int = 60
    access_log_bucket: str = ""
    access_log_prefix: str = ""


@dataclass(frozen=True, order=True)
class IngressRule:
    """One permission: protocol tcp/icmp/-1, ports (ICMP: type, code), one source."""

    protocol: str
    from_port: int
    to_port: int
    source: str  # an IPv4/IPv6 CIDR or a security group id
    description: str = ""


@dataclass(frozen=True)
class DesiredGroup:
    name: str
    description: str
    rules: frozenset[IngressRule]
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class DesiredLoadBalancer:
    service: str  # namespace/name
    name: str
    internal: bool
    subnets: tuple[str, ...]
    frontend_group: DesiredGroup | None  # None when the user brings their own groups
    user_groups: tuple[str, ...]  # security-groups / extra-security-groups: never modified
    listeners: tuple[Listener, ...]
    health_check: HealthCheck
    attributes: Attributes
    tags: tuple[tuple[str, str], ...]
    instances: frozenset[str]
    proxy_protocol_ports: frozenset[int] = frozenset()
    ssl_policy: str | None = None
    ssl_policy_ports: frozenset[int] = frozenset()
    node_groups: frozenset[str] = frozenset()  # node SGs that must admit the backend SG


@dataclass(frozen=True)
class ObservedGroup(Tagged):
    id: SecurityGroupId
    name: str
    tags: tuple[tuple[str, str], ...]
    rules: frozenset[IngressRule] = frozenset()


@dataclass(frozen=True)
class ObservedLoadBalancer(Tagged):
    name: LoadBalancerName
    dns_name: str
    internal: bool
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    listeners: frozenset[Listener]
    health_check: HealthCheck
    attributes: Attributes
    tags: tuple[tuple[str, str], ...]
    instances: frozenset[str]
    policies: frozenset[str] = frozenset()
    backend_policies: tuple[tuple[int, tuple[str, ...]], ...] = ()
    listener_policies: tuple[tuple[int, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Observed:
    """The snapshot: what AWS holds for one Service (its LB, its frontend group, the
    cluster-wide backend group and the node groups holding our rule) and the network facts
    the planner needs (VPC, subnets, the nodes' instances and their groups). Immutable: the
    planner reads it, action effects derive the next one from it."""

    load_balancer: ObservedLoadBalancer | None = None
    frontend_group: ObservedGroup | None = None
    backend_group: ObservedGroup | None = None
    node_groups_admitting: frozenset[str] = field(default=frozenset())
    vpc_id: str = ""
    subnets: tuple[SubnetRecord, ...] = ()
    instances: tuple[InstanceRecord, ...] = ()
    instance_groups: tuple[GroupRecord, ...] = ()
    # Set only by an observer that checked every load balancer of the cluster in AWS and
    # found none but this Service's using the backend group: unproven means "in use".
    backend_unused: bool = False
    # The Network LB family: the NLB and this Service's target groups (by name).
    network_lb: ObservedNetworkLB | None = None
    target_groups: tuple[ObservedTargetGroup, ...] = ()

    @property
    def hostname(self) -> str:
        lb = self.load_balancer or self.network_lb
        return lb.dns_name if lb else ""


def reserved_tag(key: str) -> bool:
    """A tag k8s-aws decides: the cluster tag, the Service's name, `k8s-aws/*`. A user's
    additional tag with such a key would disown the resource (a `shared` LB is never deleted)."""
    return key.startswith((CLUSTER_TAG_PREFIX, OUR_TAG_PREFIX)) or key == SERVICE_NAME_TAG


def service_tags(
    cluster: str, service: str, additional: tuple[tuple[str, str], ...] = ()
) -> tuple[tuple[str, str], ...]:
    """The tags of a Service's load balancer and groups: its additional tags, then the
    identity tags that make them ours (applied last: no additional tag replaces them)."""
    tags = dict(additional)
    tags.update({cluster_tag_key(cluster): OWNED, SERVICE_NAME_TAG: service})
    return tuple(sorted(tags.items()))


def ours(tags: tuple[tuple[str, str], ...], cluster: str, service: str | None) -> bool:
    """Ours to change or delete: cluster tag `owned` AND our identity tag (DESIGN: "What is
    ours"); BOSH puts the cluster tag on its own disks and VMs, so that tag alone proves nothing."""
    values = dict(tags)
    if values.get(cluster_tag_key(cluster)) != OWNED:
        return False
    if service is None:
        return values.get(BACKEND_ROLE_TAG) == BACKEND_ROLE
    return values.get(SERVICE_NAME_TAG) == service


def frontend_group_name(lb_name: str) -> str:
    return f"k8s-elb-{lb_name}"


def backend_group_name(cluster: str) -> str:
    return f"k8s-aws-{cluster}-lb-backends"


def backend_rule(backend_group: str, cluster: str) -> IngressRule:
    """The single rule on a node group: everything from the cluster's LB backend group. It is
    identified by source group and description: the only thing we touch on others' groups."""
    return IngressRule("-1", -1, -1, backend_group, NODE_RULE_DESCRIPTION.format(cluster=cluster))
