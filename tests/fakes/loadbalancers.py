"""In-memory Classic ELBs behind LoadBalancerReads / LoadBalancerWrites, for unit tests of
the Service controller only.

An apply changes the account exactly as each action declares it does (the registry's
`effect`s, which `cloud.clb.simulate` chains), with ids handed out as AWS hands them out:
security groups `sg-...` for `$ref`s, a DNS name per load balancer. So the fake cannot claim
more than the registry; tests/integration/test_lb_contract.py holds the registry's claims
against the emulator for the same plan. Only the Classic ELB family is modelled: an NLB
action is refused loudly.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from k8s_aws.cloud.clb import Applied, simulate
from k8s_aws.cloud.lb_observer import CLASSIC
from k8s_aws.model import lb_actions as act
from k8s_aws.model import nlb_actions
from k8s_aws.model.lb_actions import Plan
from k8s_aws.model.loadbalancer import Observed, ObservedGroup, ObservedLoadBalancer
from k8s_aws.model.nlb import ObservedNetworkLB, ObservedTargetGroup


class FakeLoadBalancers:
    def __init__(self, network: Observed) -> None:
        """`network`: the VPC, subnets, instances and node groups every snapshot starts from."""
        self.network = network
        self.by_name: dict[str, Observed] = {}
        self.applied: list[Plan] = []
        self.observed = 0
        self._ids = itertools.count(1)

    def _shared(self) -> Observed:
        """What is cluster-wide: the backend group and the node groups admitting it."""
        with_backend = [o for o in self.by_name.values() if o.backend_group is not None]
        if not with_backend:
            return self.network
        last = with_backend[-1]
        return replace(self.network, backend_group=last.backend_group,
                       node_groups_admitting=last.node_groups_admitting)

    async def observe(
        self, name: str, instance_ids: tuple[str, ...], *, known: Observed | None = None,
        check_backend_users: bool = False, family: str = CLASSIC, previous: bool = False,
        service: tuple[str, str] = ("", ""), cluster_backend: Observed | None = None,
    ) -> Observed:
        self.observed += 1
        instances = tuple(i for i in self.network.instances if i.id in instance_ids)
        if known is not None:
            return replace(known, instances=instances)
        base = replace(self._shared(), instances=instances)
        mine = self.by_name.get(name)
        if mine is None:
            return base
        others = any(o.load_balancer is not None for n, o in self.by_name.items() if n != name)
        return replace(base, load_balancer=mine.load_balancer, frontend_group=mine.frontend_group,
                       backend_unused=check_backend_users and not others)

    async def deletion_snapshots(self, names: set[str]) -> dict[str, Observed]:
        """As the observer's: the named load balancers that exist, with their frontend
        groups (the backend group is left out: these deletions keep it)."""
        self.observed += 1
        return {n: Observed(load_balancer=o.load_balancer, frontend_group=o.frontend_group)
                for n, o in self.by_name.items() if n in names and o.load_balancer is not None}

    async def nlb_deletion_snapshots(
        self, services: dict[str, tuple[str, str]]) -> dict[str, Observed]:
        """As the observer's; this fake holds no Network LBs, so none exists."""
        self.observed += 1
        return {}

    async def apply(self, plan: Plan, vpc_id: str) -> Applied:
        self.applied.append(plan)
        applied = Applied()
        name = next((a.name for a in plan.actions if isinstance(a, act.CreateLoadBalancer)), "")
        for action in plan.actions:
            if isinstance(action, act.CreateGroup):
                applied.refs[action.ref] = f"sg-{next(self._ids):017x}"
            elif isinstance(action, act.CreateLoadBalancer):
                applied.dns_name = f"{action.name}-{next(self._ids)}.us-west-2.elb.amazonaws.com"
            elif type(action).__module__ == nlb_actions.__name__:
                raise NotImplementedError(f"the fake has no Network LBs ({action.op})")
        name = name or self._target(plan)
        state = simulate(self._current(name), plan.actions, applied)
        self.by_name[name] = state
        for other, known in self.by_name.items():  # the backend group is shared
            if other != name:
                self.by_name[other] = replace(known, backend_group=state.backend_group,
                                              node_groups_admitting=state.node_groups_admitting)
        return applied

    def _current(self, name: str) -> Observed:
        mine = self.by_name.get(name)
        base = self._shared()
        if mine is None:
            return base
        return replace(base, load_balancer=mine.load_balancer, frontend_group=mine.frontend_group)

    def _target(self, plan: Plan) -> str:
        """The load balancer a plan without CreateLoadBalancer changes (by name)."""
        for action in plan.actions:
            name = getattr(action, "name", "")
            if name in self.by_name:
                return str(name)
        return next(iter(self.by_name), "")

    # -- the drift sweep's reads ---------------------------------------------------------
    async def admitting(self, backend: str) -> set[str]:
        return set(self._shared().node_groups_admitting)

    async def fleet(self, names: set[str]) -> dict[str, ObservedLoadBalancer]:
        return {n: o.load_balancer for n, o in self.by_name.items()
                if n in names and o.load_balancer is not None}

    async def nlb_fleet(
        self, names: set[str]
    ) -> dict[str, tuple[ObservedNetworkLB, tuple[ObservedTargetGroup, ...]]]:
        return {}

    async def fleet_groups(self) -> dict[str, ObservedGroup]:
        return {o.frontend_group.id: o.frontend_group for o in self.by_name.values()
                if o.frontend_group is not None}
