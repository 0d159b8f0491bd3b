"""Services of type LoadBalancer become Classic ELBs: create, update in place, refuse what
cannot change, report bad input, register joining nodes alone, delete everything that is ours
(and name what blocks it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from functools import partial
from typing import Any

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.processes import ProcessGroup
from k8s_aws_sandbox.state import SandboxState

from .conftest import aws_env, kubectl, kubectl_json
from .test_node_controllers import leader_url, metric, sweep_drift_now, wait_initialized
from .vms import launch_worker

PREFIX = "service.beta.kubernetes.io/aws-load-balancer-"
CLIENT = "k8s-aws-controller-manager"
FINALIZER = "service.kubernetes.io/load-balancer-cleanup"


def apply_service(sandbox: SandboxState, name: str, annotations: dict[str, str] | None = None,
                  ports: list[tuple[str, int]] | None = None, **spec: Any) -> dict[str, Any]:
    manifest = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "default",
                     "annotations": {PREFIX + k: v for k, v in (annotations or {}).items()}},
        "spec": {"type": "LoadBalancer", "selector": {"app": name},
                 "ports": [{"name": n, "port": p, "targetPort": 8080}
                           for n, p in (ports or [("http", 80)])],
                 **spec},
    }
    path = sandbox.root / f"svc-{name}-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(manifest))
    kubectl(sandbox, "apply", "-f", str(path))
    return dict(kubectl_json(sandbox, "get", "service", name))


def service(sandbox: SandboxState, name: str) -> dict[str, Any] | None:
    out = kubectl(sandbox, "get", "service", name, "-o", "json", "--ignore-not-found")
    return json.loads(out) if out.strip() else None


def gone(sandbox: SandboxState, name: str) -> bool:
    return service(sandbox, name) is None


def hostname(sandbox: SandboxState, name: str) -> str | None:
    svc = service(sandbox, name)
    ingress = (svc or {}).get("status", {}).get("loadBalancer", {}).get("ingress") or []
    return ingress[0].get("hostname") if ingress else None


def lb_name(svc: dict[str, Any]) -> str:
    return ("a" + str(svc["metadata"]["uid"]).replace("-", ""))[:32]


def describe_lb(elb: Any, name: str) -> dict[str, Any] | None:
    try:
        found = elb.describe_load_balancers(LoadBalancerNames=[name])["LoadBalancerDescriptions"]
    except elb.exceptions.AccessPointNotFoundException:
        return None
    return dict(found[0]) if found else None


def events(sandbox: SandboxState, name: str) -> list[dict[str, Any]]:
    return list(kubectl_json(sandbox, "get", "events", "-n", "default", "--field-selector",
                             f"involvedObject.name={name}")["items"])


def wait_event(sandbox: SandboxState, name: str, reason: str) -> dict[str, Any]:
    return wait_until(
        lambda: next((e for e in events(sandbox, name) if e["reason"] == reason), None),
        timeout=60, what=f"event {reason} on {name}",
    )


def group_rules(ec2: Any, group_id: str) -> list[dict[str, Any]]:
    return list(ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissions"])


def test_a_new_service_gets_a_classic_elb(
    sandbox: SandboxState, ec2: Any, elb: Any, control: FidelityControl
) -> None:
    backend_existed = bool(ec2.describe_security_groups(Filters=[
        {"Name": "group-name", "Values": ["k8s-aws-itest-lb-backends"]}])["SecurityGroups"])
    sweep_drift_now(sandbox)  # no periodic sweep inside the counted window
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    svc = apply_service(sandbox, "shop", {"additional-resource-tags": "team=shop"})
    host = wait_until(lambda: hostname(sandbox, "shop"), timeout=60, what="a hostname")
    name = lb_name(svc)
    lb = describe_lb(elb, name)
    assert lb is not None and host == lb["DNSName"]
    assert lb["Scheme"] == "internet-facing"
    public = {sid for n, sid in sandbox.world.subnets.items() if "-public-" in n}
    assert set(lb["Subnets"]) == public  # one public subnet per zone
    node_port = svc["spec"]["ports"][0]["nodePort"]
    assert [d["Listener"] for d in lb["ListenerDescriptions"]] == [
        {"Protocol": "TCP", "LoadBalancerPort": 80, "InstanceProtocol": "TCP",
         "InstancePort": node_port}]
    assert lb["HealthCheck"]["Target"] == f"TCP:{node_port}"
    tags = {t["Key"]: t["Value"] for t in elb.describe_tags(
        LoadBalancerNames=[name])["TagDescriptions"][0]["Tags"]}
    assert tags == {"kubernetes.io/cluster/itest": "owned",
                    "kubernetes.io/service-name": "default/shop", "team": "shop"}
    nodes = {n["spec"]["providerID"].rsplit("/", 1)[1]
             for n in kubectl_json(sandbox, "get", "nodes")["items"] if n["spec"].get("providerID")}
    assert {i["InstanceId"] for i in lb["Instances"]} == nodes
    groups = ec2.describe_security_groups(GroupIds=lb["SecurityGroups"])["SecurityGroups"]
    names = {g["GroupName"] for g in groups}
    assert names == {f"k8s-elb-{name}", "k8s-aws-itest-lb-backends"}
    backend = next(g["GroupId"] for g in groups if g["GroupName"].endswith("lb-backends"))
    node_rules = group_rules(ec2, sandbox.world.node_security_group)
    assert sum(1 for r in node_rules for p in r.get("UserIdGroupPairs", [])
               if p["GroupId"] == backend) == 1  # one rule for every LB of the cluster
    assert FINALIZER in (service(sandbox, "shop") or {})["metadata"]["finalizers"]
    calls = [c for c in control.calls(client=CLIENT) if c.seq > since]
    # The cluster's first load balancer also makes the cluster-wide backend group and its
    # one rule on the node group (a CreateSecurityGroup and an AuthorizeSecurityGroupIngress).
    budget = 12 if backend_existed else 14
    assert len(calls) <= budget, [(c.action, c.error) for c in calls]


def test_changes_are_made_in_place_and_a_scheme_change_is_refused(
    sandbox: SandboxState, elb: Any, ec2: Any
) -> None:
    svc = apply_service(sandbox, "inplace")
    wait_until(lambda: hostname(sandbox, "inplace"), timeout=60, what="a hostname")
    name = lb_name(svc)
    apply_service(sandbox, "inplace",
                  {"connection-idle-timeout": "120", "cross-zone-load-balancing-enabled": "true",
                   "healthcheck-interval": "20"},
                  ports=[("http", 80), ("https", 443)], loadBalancerSourceRanges=["10.1.0.0/16"])

    def updated() -> bool:
        lb = describe_lb(elb, name)
        attrs = elb.describe_load_balancer_attributes(LoadBalancerName=name)
        a = attrs["LoadBalancerAttributes"]
        return lb is not None and len(lb["ListenerDescriptions"]) == 2 and (
            a["ConnectionSettings"]["IdleTimeout"] == 120
            and a["CrossZoneLoadBalancing"]["Enabled"] and lb["HealthCheck"]["Interval"] == 20)

    wait_until(updated, timeout=60, what="listeners, attributes and health check updated")
    lb = describe_lb(elb, name)
    assert lb is not None
    frontend = next(g for g in ec2.describe_security_groups(GroupIds=lb["SecurityGroups"])[
        "SecurityGroups"] if g["GroupName"].startswith("k8s-elb-"))
    cidrs = {(p.get("FromPort"), r["CidrIp"]) for p in frontend["IpPermissions"]
             for r in p.get("IpRanges", [])}
    assert cidrs == {(80, "10.1.0.0/16"), (443, "10.1.0.0/16"), (3, "10.1.0.0/16")}
    apply_service(sandbox, "inplace", {"internal": "true"})
    refused = wait_event(sandbox, "inplace", "LoadBalancerRefused")
    assert "delete and recreate the Service" in refused["message"]
    assert describe_lb(elb, name)["Scheme"] == "internet-facing"  # type: ignore[index]


def test_invalid_annotations_give_a_warning_and_no_aws_change(
    sandbox: SandboxState, elb: Any
) -> None:
    svc = apply_service(sandbox, "badconf", {"connection-idle-timeout": "soon",
                                             "proxy-protocol": "yes"})
    event = wait_event(sandbox, "badconf", "InvalidConfiguration")
    assert event["type"] == "Warning"
    assert (PREFIX + "connection-idle-timeout: invalid value 'soon'; allowed: an integer 1-4000"
            in event["message"])
    assert PREFIX + "proxy-protocol: invalid value 'yes'; allowed: *" in event["message"]
    assert describe_lb(elb, lb_name(svc)) is None
    assert FINALIZER not in (service(sandbox, "badconf") or {})["metadata"].get("finalizers", [])


def test_a_joining_or_leaving_node_is_registered_or_deregistered_alone(
    sandbox: SandboxState, ec2: Any, elb: Any, control: FidelityControl
) -> None:
    svc = apply_service(sandbox, "joins")
    wait_until(lambda: hostname(sandbox, "joins"), timeout=60, what="a hostname")
    sweep_drift_now(sandbox)  # no periodic sweep inside the counted windows
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    instance, node = launch_worker(sandbox, ec2)
    wait_initialized(sandbox, node)
    wait_until(lambda: instance in {i["InstanceId"] for i in (describe_lb(elb, lb_name(svc)) or {})
                                    .get("Instances", [])},
               timeout=60, what=f"{instance} registered")
    actions = [c.action for c in control.calls(client=CLIENT) if c.seq > since]
    assert "RegisterInstancesWithLoadBalancer" in actions
    assert "DescribeLoadBalancers" not in actions, actions
    # Leaving: the instance terminates, its Node is deleted, only it is deregistered.
    registered = {i["InstanceId"] for i in describe_lb(elb, lb_name(svc))["Instances"]}  # type: ignore[index]
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    ec2.terminate_instances(InstanceIds=[instance])
    wait_until(lambda: {i["InstanceId"] for i in (describe_lb(elb, lb_name(svc)) or {})
                        .get("Instances", [])} == registered - {instance},
               timeout=60, what=f"{instance} deregistered, the others kept")
    actions = [c.action for c in control.calls(client=CLIENT) if c.seq > since]
    assert "DeregisterInstancesFromLoadBalancer" in actions
    assert "RegisterInstancesWithLoadBalancer" not in actions
    assert "DescribeLoadBalancers" not in actions, actions


def test_unchanged_services_cost_no_aws_calls(
    sandbox: SandboxState, control: FidelityControl
) -> None:
    apply_service(sandbox, "steady")
    wait_until(lambda: hostname(sandbox, "steady"), timeout=60, what="a hostname")
    url = wait_until(lambda: leader_url(sandbox), timeout=60, what="a leader")
    sweep_drift_now(sandbox)  # no periodic sweep inside the counted window
    wait_until(lambda: not any(c.mutating for c in control.calls(client=CLIENT)
                               if c.time > time.time() - 2), timeout=60, what="quiet")
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    events_before = metric(url, "k8s_aws_informer_events_total", informer="services")
    reconciles_before = metric(url, "k8s_aws_reconcile_total", controller="service")
    services = kubectl_json(sandbox, "get", "services", "-A")["items"]
    balanced = sum(1 for s in services if s["spec"]["type"] == "LoadBalancer")
    kubectl(sandbox, "label", "services", "--all", "-A", "--overwrite", f"touched={time.time_ns()}")
    wait_until(
        lambda: metric(url, "k8s_aws_informer_events_total", informer="services")
        >= events_before + len(services)
        and metric(url, "k8s_aws_reconcile_total", controller="service")
        >= reconciles_before + balanced,
        timeout=60, what="the controller to see and reconcile every Service update")
    calls = [c.action for c in control.calls(client=CLIENT) if c.seq > since
             and c.service in ("elasticloadbalancing", "elb")]
    assert calls == [], calls


def test_deletion_removes_what_is_ours_and_names_a_foreign_blocker(
    sandbox: SandboxState, ec2: Any, elb: Any
) -> None:
    svc = apply_service(sandbox, "gone")
    wait_until(lambda: hostname(sandbox, "gone"), timeout=60, what="a hostname")
    name = lb_name(svc)
    lb = describe_lb(elb, name)
    assert lb is not None
    frontend = next(g["GroupId"] for g in ec2.describe_security_groups(
        GroupIds=lb["SecurityGroups"])["SecurityGroups"] if g["GroupName"].startswith("k8s-elb-"))
    # A user's group references ours: deletion must wait, saying so, and keep the finalizer.
    foreign = ec2.create_security_group(GroupName=f"user-{uuid.uuid4().hex[:6]}",
                                        Description="a user's", VpcId=sandbox.world.vpc_id)["GroupId"]
    permission = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                   "UserIdGroupPairs": [{"GroupId": frontend}]}]
    ec2.authorize_security_group_ingress(GroupId=foreign, IpPermissions=permission)
    kubectl(sandbox, "delete", "service", "gone", "--wait=false")
    blocked = wait_event(sandbox, "gone", "DeletionBlocked")
    assert foreign in blocked["message"]
    assert describe_lb(elb, name) is None
    assert FINALIZER in (service(sandbox, "gone") or {})["metadata"]["finalizers"]
    ec2.revoke_security_group_ingress(GroupId=foreign, IpPermissions=permission)
    wait_until(lambda: service(sandbox, "gone") is None, timeout=120,
               what="the Service to go once nothing blocks")
    assert not ec2.describe_security_groups(
        Filters=[{"Name": "group-id", "Values": [frontend]}])["SecurityGroups"]


def test_deleting_load_balancers_waits_once_for_their_interfaces(
    sandbox: SandboxState, ec2: Any, elb: Any, control: FidelityControl
) -> None:
    """Their groups are deleted after one batched wait on the interfaces, not retried
    against DependencyViolation, and no load balancer already deleted is described again."""
    names = [f"bye-{i}" for i in range(3)]
    for name in names:
        apply_service(sandbox, name)
    for name in names:
        wait_until(partial(hostname, sandbox, name), timeout=60, what=f"{name} ready")
    frontends = {g["GroupId"] for g in ec2.describe_security_groups(Filters=[
        {"Name": "tag:kubernetes.io/service-name", "Values": [f"default/{n}" for n in names]}])[
        "SecurityGroups"]}
    assert len(frontends) == 3
    sweep_drift_now(sandbox)  # no periodic sweep inside the counted window
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    kubectl(sandbox, "delete", "service", *names, "--wait=false")
    for name in names:
        wait_until(partial(gone, sandbox, name), timeout=120, what=f"{name} deleted")
    calls = [c for c in control.calls(client=CLIENT) if c.seq > since]
    ops = [(c.service, c.action, c.error) for c in calls]
    assert sum(c.action == "DeleteLoadBalancer" for c in calls) == 3, ops
    group_deletes = [c for c in calls if c.action == "DeleteSecurityGroup"]
    # Not retried against DependencyViolation: at most one early try per group (AWS may
    # free a group a moment after its interfaces vanish), then one more round of the wait.
    refused = [c for c in group_deletes if c.error]
    assert {c.error for c in refused} <= {"DependencyViolation"} and len(refused) <= 3, ops
    assert len(group_deletes) - len(refused) in (3, 4), ops  # the frontends (+ the backend)
    assert [c for c in calls if c.service == "elb" and c.error] == [], ops  # no NotFound re-read
    assert any(c.action == "DescribeNetworkInterfaces" for c in calls), ops
    assert not ec2.describe_security_groups(
        Filters=[{"Name": "group-id", "Values": sorted(frontends)}])["SecurityGroups"]


def test_plan_shows_what_a_reconcile_would_do_and_changes_nothing(
    sandbox: SandboxState, elb: Any, control: FidelityControl
) -> None:
    svc = apply_service(sandbox, "planned")
    wait_until(lambda: hostname(sandbox, "planned"), timeout=60, what="a hostname")
    name = lb_name(svc)
    env = aws_env(sandbox)
    cli = [sys.executable, "-m", "k8s_aws.cli.main", "plan", "planned", "-n", "default",
           "--kubeconfig", str(sandbox.kubeconfig), "-o", "json"]

    def plan_now() -> dict[str, Any]:
        result = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=60,
                                check=False)
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout)["default/planned"])

    sweep_drift_now(sandbox)  # the controller must not repair the drift before plan sees it
    converged = plan_now()
    assert converged["kind"] == "ensure" and converged["actions"] == []
    # Someone deletes the listeners behind the controller's back: plan sees it, fresh.
    elb.delete_load_balancer_listeners(LoadBalancerName=name, LoadBalancerPorts=[80])
    since = max((c.seq for c in control.calls()), default=0)
    drifted = plan_now()
    assert [a["op"] for a in drifted["actions"]] == ["CreateListeners"]
    mutating = [c.action for c in control.calls() if c.seq > since and c.mutating]
    assert mutating == [], f"plan changed AWS: {mutating}"
    assert describe_lb(elb, name)["ListenerDescriptions"] == []  # type: ignore[index]


def test_drift_is_found_by_a_fleet_sweep_and_repaired(
    sandbox: SandboxState, elb: Any, ec2: Any
) -> None:
    svc = apply_service(sandbox, "drifty")
    wait_until(lambda: hostname(sandbox, "drifty"), timeout=60, what="a hostname")
    name = lb_name(svc)
    lb = describe_lb(elb, name)
    assert lb is not None
    elb.delete_load_balancer_listeners(LoadBalancerName=name, LoadBalancerPorts=[80])
    frontend = next(g for g in ec2.describe_security_groups(GroupIds=lb["SecurityGroups"])[
        "SecurityGroups"] if g["GroupName"].startswith("k8s-elb-"))
    ec2.revoke_security_group_ingress(GroupId=frontend["GroupId"],
                                      IpPermissions=frontend["IpPermissions"])
    # SIGUSR1 asks for a sweep now (the period is 10 minutes); followers just note it.
    for pidfile in ProcessGroup(sandbox.root).pidfiles():
        if pidfile.name.startswith("controller-manager") and pidfile.alive():
            os.kill(pidfile.pid, signal.SIGUSR1)

    def repaired() -> bool:
        now = describe_lb(elb, name)
        rules = group_rules(ec2, frontend["GroupId"])
        return bool(now and now["ListenerDescriptions"]) and len(rules) == 2

    wait_until(repaired, timeout=60, what="the listener and the group's rules restored")


def test_a_matching_load_balancer_is_adopted_without_a_changing_call(
    sandbox: SandboxState, ec2: Any, elb: Any, control: FidelityControl
) -> None:
    # Someone (the reference provider) made this Service's ELB already, with its name and tags.
    svc = apply_service(sandbox, "adopted", type="NodePort")
    name, node_port = lb_name(svc), svc["spec"]["ports"][0]["nodePort"]
    tags = [{"Key": "kubernetes.io/cluster/itest", "Value": "owned"},
            {"Key": "kubernetes.io/service-name", "Value": "default/adopted"}]
    frontend = ec2.create_security_group(
        GroupName=f"k8s-elb-{name}", Description="made by the reference provider",
        VpcId=sandbox.world.vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=frontend, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "icmp", "FromPort": 3, "ToPort": 4, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    backend = ec2.describe_security_groups(Filters=[
        {"Name": "group-name", "Values": ["k8s-aws-itest-lb-backends"]}])["SecurityGroups"][0]
    public = sorted(sid for n, sid in sandbox.world.subnets.items() if "-public-" in n)
    elb.create_load_balancer(
        LoadBalancerName=name, Subnets=public, SecurityGroups=[frontend, backend["GroupId"]],
        Listeners=[{"Protocol": "TCP", "LoadBalancerPort": 80, "InstanceProtocol": "TCP",
                    "InstancePort": node_port}], Tags=tags)
    elb.configure_health_check(LoadBalancerName=name, HealthCheck={
        "Target": f"TCP:{node_port}", "Interval": 10, "Timeout": 5, "HealthyThreshold": 2,
        "UnhealthyThreshold": 6})
    instances = [n["spec"]["providerID"].rsplit("/", 1)[1]
                 for n in kubectl_json(sandbox, "get", "nodes")["items"]
                 if n["spec"].get("providerID")]
    elb.register_instances_with_load_balancer(
        LoadBalancerName=name, Instances=[{"InstanceId": i} for i in instances])
    dns = describe_lb(elb, name)["DNSName"]  # type: ignore[index]

    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    apply_service(sandbox, "adopted", type="LoadBalancer")
    assert wait_until(lambda: hostname(sandbox, "adopted"), timeout=60, what="adoption") == dns
    changing = [c.action for c in control.calls(client=CLIENT) if c.seq > since and c.mutating]
    assert changing == [], f"adoption changed AWS: {changing}"


def test_a_revoked_node_group_rule_is_restored_by_the_drift_sweep(
    sandbox: SandboxState, ec2: Any
) -> None:
    apply_service(sandbox, "noderule")
    wait_until(lambda: hostname(sandbox, "noderule"), timeout=60, what="a hostname")
    backend = ec2.describe_security_groups(Filters=[
        {"Name": "group-name", "Values": ["k8s-aws-itest-lb-backends"]}])["SecurityGroups"][0]
    node_group = sandbox.world.node_security_group

    def ours_on_node_group() -> list[dict[str, Any]]:
        return [p for p in group_rules(ec2, node_group)
                if any(g["GroupId"] == backend["GroupId"] for g in p.get("UserIdGroupPairs", []))]

    rule = ours_on_node_group()
    assert len(rule) == 1
    ec2.revoke_security_group_ingress(GroupId=node_group, IpPermissions=rule)
    assert ours_on_node_group() == []
    sweep_drift_now(sandbox)
    wait_until(lambda: len(ours_on_node_group()) == 1, timeout=60,
               what="the backend rule on the node group restored")


def test_aws_refusing_a_call_becomes_one_warning_event(
    sandbox: SandboxState, control: FidelityControl
) -> None:
    """AWS refuses CreateLoadBalancer (a group that does not exist); the controller retries
    with back-off, and the Service gets one Warning Event naming the call, not one per try."""
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    apply_service(sandbox, "refused", {"extra-security-groups": "sg-0000dead0000beef"})
    event = wait_event(sandbox, "refused", "SyncLoadBalancerFailed")
    assert event["type"] == "Warning"
    assert event["message"].startswith("AWS refused CreateLoadBalancer: "), event["message"]
    assert "security group" in event["message"]
    wait_until(lambda: sum(1 for c in control.calls(client=CLIENT)
                           if c.seq > since and c.action == "CreateLoadBalancer") >= 3,
               timeout=60, what="the controller to retry")
    refused = [e for e in events(sandbox, "refused") if e["reason"] == "SyncLoadBalancerFailed"]
    assert len(refused) == 1 and refused[0]["count"] == 1, refused
    kubectl(sandbox, "delete", "service", "refused", "--wait=false")
    wait_until(lambda: service(sandbox, "refused") is None, timeout=120,
               what="the refused Service to go, its frontend group with it")
