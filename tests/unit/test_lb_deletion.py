"""Deletion in two stages around the release of the load balancers' interfaces (pure), and
which other Services keep the cluster's backend group alive while deletions are under way."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from k8s_aws.controllers.service_inputs import backend_wanted_elsewhere
from k8s_aws.loadbalancer.deletion import stage_deletion
from k8s_aws.loadbalancer.plan import plan_delete
from k8s_aws.loadbalancer.service import FINALIZER, ServiceView
from k8s_aws.model.lb_actions import DeleteGroup, DeleteLoadBalancer, Plan, RevokeIngress
from k8s_aws.model.nlb_actions import DeleteNetworkLoadBalancer, DeleteTargetGroup

from .lb_fixtures import service
from .test_lb_service_plan import created, deleting

KEY = "shop/web"


def test_a_load_balancer_goes_first_and_its_group_after_its_interfaces() -> None:
    state = created(service())
    staged = stage_deletion(plan_delete(KEY, state, "prod", backend_wanted=True), "sg-back")
    assert staged is not None
    assert [a.op for a in staged.now.actions] == ["DeleteLoadBalancer"]
    assert [(a.op, getattr(a, "group", "")) for a in staged.after_release.actions] == [
        ("DeleteGroup", "sg-front")]
    assert staged.groups == ("sg-front",)
    assert not staged.touches_backend


def test_the_last_deletion_waits_for_both_groups_and_revokes_between() -> None:
    state = replace(created(service()), backend_unused=True)
    plan = plan_delete(KEY, state, "prod", backend_wanted=False)
    staged = stage_deletion(plan, "sg-back")
    assert staged is not None
    assert [a.op for a in staged.after_release.actions] == [
        "DeleteGroup", "RevokeIngress", "DeleteGroup"]
    assert staged.groups == ("sg-front", "sg-back") and staged.touches_backend
    assert staged.now.actions + staged.after_release.actions == plan.actions


def test_a_network_lb_goes_first_and_its_target_groups_with_its_group_after_the_wait() -> None:
    """Its target groups stay in use until the NLB is quite gone: after the wait, at once."""
    plan = Plan((DeleteNetworkLoadBalancer("arn:lb", "web"), DeleteTargetGroup("arn:tg", "tg"),
                 DeleteTargetGroup("arn:tg2", "tg2"), DeleteGroup("sg-front", "k8s-elb-web")))
    staged = stage_deletion(plan, None)
    assert staged is not None
    assert [a.op for a in staged.now.actions] == ["DeleteNetworkLoadBalancer"]
    assert [a.op for a in staged.after_release.actions] == [
        "DeleteTargetGroup", "DeleteTargetGroup", "DeleteGroup"]
    assert staged.groups == ("sg-front",)


def test_a_network_lb_without_a_group_to_wait_for_is_deleted_in_one_go() -> None:
    """Nothing to wait on (no frontend group): no stage, so no wait that would end at once."""
    plan = Plan((DeleteNetworkLoadBalancer("arn:lb", "web"), DeleteTargetGroup("arn:tg", "tg")))
    assert stage_deletion(plan, None) is None


def test_orphan_target_groups_of_a_gone_nlb_go_in_one_go() -> None:
    plan = Plan((DeleteTargetGroup("arn:tg", "tg"), DeleteGroup("sg-front", "k8s-elb-web")))
    assert stage_deletion(plan, None) is None


def test_nothing_waits_when_no_load_balancer_is_deleted_or_no_group_follows() -> None:
    # The load balancer is already gone (a crash after its deletion): one stage, as before.
    assert stage_deletion(Plan((DeleteGroup("sg-front", "f"),)), None) is None
    assert stage_deletion(Plan((DeleteLoadBalancer("web"),)), None) is None
    assert stage_deletion(Plan(()), None) is None
    assert stage_deletion(Plan((RevokeIngress("sg-node", ()), DeleteGroup("sg-b", "b"),
                                DeleteLoadBalancer("x"))), "sg-b") is None


def raw(name: str, uid: str, *, deleting_: bool = False, lb: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "shop", "uid": uid,
                            "finalizers": [FINALIZER]}
    if deleting_:
        meta["deletionTimestamp"] = "2026-12-02T00:00:00Z"
    return {"metadata": meta, "spec": {"type": "LoadBalancer" if lb else "ClusterIP",
                                       "ports": [{"port": 80, "nodePort": 30080}]}}


def test_a_service_still_being_deleted_keeps_the_backend_group() -> None:
    me = ServiceView.of(raw("web", "u1", deleting_=True))
    others = {"shop/web": raw("web", "u1", deleting_=True),
              "shop/api": raw("api", "u2", deleting_=True)}
    assert backend_wanted_elsewhere(me, others)
    # Once this replica removed api's finalizer, the informer's stale copy keeps nothing.
    assert not backend_wanted_elsewhere(me, others, {"shop/api": "u2"})
    # A new Service of the same name is another Service: it counts.
    assert backend_wanted_elsewhere(me, others, {"shop/api": "u-old"})


def test_a_service_that_wants_a_load_balancer_keeps_it_and_one_without_finalizer_not() -> None:
    me = deleting(service())
    assert backend_wanted_elsewhere(me, {"shop/api": raw("api", "u2")})
    plain = raw("api", "u2", lb=False)
    plain["metadata"]["finalizers"] = []
    assert not backend_wanted_elsewhere(me, {"shop/api": plain})
