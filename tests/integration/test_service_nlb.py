"""Services annotated `aws-load-balancer-type: nlb` become Network Load Balancers on the
sandbox: target groups per port on the NodePort, TCP/UDP/TCP_UDP listeners, the frontend
group and the cluster's one backend group (one rule per node group whatever the number of
NLBs), targets registered, `k8s-aws plan` showing NLB actions, bad input refused by name
with no AWS change, a type change refused, and nothing owned left after deletion."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from functools import partial
from typing import Any

import pytest

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.state import SandboxState

from .conftest import aws_env, emulator_session, kubectl, kubectl_json
from .test_node_controllers import leader_url, metric, sweep_drift_now, wait_initialized
from .test_service_clb import (
    CLIENT,
    FINALIZER,
    PREFIX,
    apply_service,
    describe_lb,
    events,
    group_rules,
    hostname,
    lb_name,
    service,
    wait_event,
)
from .vms import launch_worker

NLB = {"type": "nlb"}
BACKEND = "k8s-aws-itest-lb-backends"


def describe_nlb(elbv2: Any, name: str) -> dict[str, Any] | None:
    try:
        return dict(elbv2.describe_load_balancers(Names=[name])["LoadBalancers"][0])
    except elbv2.exceptions.LoadBalancerNotFoundException:
        return None


def nlb_service(sandbox: SandboxState, name: str, ports: list[dict[str, Any]],
                annotations: dict[str, str] | None = None,
                **spec: Any) -> dict[str, Any]:
    """An NLB Service with explicit ports (protocols, nodePorts) and any other spec fields
    (`externalTrafficPolicy`), created in one apply."""
    manifest = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "default", "annotations": {
            PREFIX + k: v for k, v in {**NLB, **(annotations or {})}.items()}},
        "spec": {"type": "LoadBalancer", "selector": {"app": name},
                 "ports": [{"targetPort": 8080, **p} for p in ports], **spec},
    }
    path = sandbox.root / f"svc-{name}-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(manifest))
    kubectl(sandbox, "apply", "-f", str(path))
    return dict(kubectl_json(sandbox, "get", "service", name))


def backend_rules(ec2: Any, sandbox: SandboxState) -> int:
    backend = ec2.describe_security_groups(Filters=[
        {"Name": "group-name", "Values": [BACKEND]}])["SecurityGroups"][0]["GroupId"]
    return sum(1 for r in group_rules(ec2, sandbox.world.node_security_group)
               for p in r.get("UserIdGroupPairs", []) if p["GroupId"] == backend)


def instance_ids(sandbox: SandboxState) -> set[str]:
    return {n["spec"]["providerID"].rsplit("/", 1)[1]
            for n in kubectl_json(sandbox, "get", "nodes")["items"]
            if n["spec"].get("providerID")}


def test_a_tcp_udp_and_tcp_udp_service_gets_a_network_load_balancer(
    sandbox: SandboxState, ec2: Any, elbv2: Any, control: FidelityControl
) -> None:
    sweep_drift_now(sandbox)  # no periodic sweep inside the counted window
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    ports = [{"name": "web", "port": 80, "protocol": "TCP"},
             {"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30553},
             {"name": "dns-tcp", "port": 53, "protocol": "TCP", "nodePort": 30553}]
    svc = nlb_service(sandbox, "edge", ports, {"additional-resource-tags": "team=edge"})
    host = wait_until(lambda: hostname(sandbox, "edge"), timeout=90, what="a hostname")
    name = lb_name(svc)
    lb = describe_nlb(elbv2, name)
    assert lb is not None and lb["Type"] == "network" and host == lb["DNSName"]
    assert lb["Scheme"] == "internet-facing"
    public = {sid for n, sid in sandbox.world.subnets.items() if "-public-" in n}
    assert {z["SubnetId"] for z in lb["AvailabilityZones"]} == public
    groups = ec2.describe_security_groups(GroupIds=lb["SecurityGroups"])["SecurityGroups"]
    assert {g["GroupName"] for g in groups} == {f"k8s-elb-{name}", BACKEND}
    web_port = next(p["nodePort"] for p in svc["spec"]["ports"] if p["name"] == "web")
    listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert sorted((x["Port"], x["Protocol"]) for x in listeners) == [(53, "TCP_UDP"), (80, "TCP")]
    tgs = {g["TargetGroupArn"]: g for g in elbv2.describe_target_groups(
        LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]}
    by_port = {g["Port"]: g for g in tgs.values()}
    assert set(by_port) == {web_port, 30553}
    web = by_port[web_port]
    assert (web["Protocol"], web["TargetType"], web["HealthCheckProtocol"],
            web["HealthCheckPort"], web["HealthCheckIntervalSeconds"],
            web["HealthCheckTimeoutSeconds"], web["HealthyThresholdCount"],
            web["UnhealthyThresholdCount"]) == ("TCP", "instance", "TCP", "traffic-port",
                                                30, 10, 3, 3)
    assert by_port[30553]["Protocol"] == "TCP_UDP"
    assert all(g["TargetGroupName"].startswith("k8s-default-edge-") for g in tgs.values())
    for arn in tgs:
        health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        assert {h["Target"]["Id"] for h in health} == instance_ids(sandbox)
    tags = elbv2.describe_tags(ResourceArns=[lb["LoadBalancerArn"], *tgs])["TagDescriptions"]
    for entry in tags:
        # the NLB also names the additional tags it got, so a key dropped later is removed
        marker = ({"k8s-aws/additional-resource-tags": "team"}
                  if entry["ResourceArn"] == lb["LoadBalancerArn"] else {})
        assert {t["Key"]: t["Value"] for t in entry["Tags"]} == {
            "kubernetes.io/cluster/itest": "owned",
            "kubernetes.io/service-name": "default/edge", "team": "edge", **marker}
    assert backend_rules(ec2, sandbox) == 1
    assert FINALIZER in (service(sandbox, "edge") or {})["metadata"]["finalizers"]
    created = [c for c in control.calls(client=CLIENT) if c.seq > since]
    assert any(c.action == "CreateTargetGroup" for c in created)


def test_plan_shows_nlb_actions_and_changes_nothing(
    sandbox: SandboxState, elbv2: Any, control: FidelityControl
) -> None:
    svc = service(sandbox, "edge")
    assert svc is not None
    cli = [sys.executable, "-m", "k8s_aws.cli.main", "plan", "edge", "-n", "default",
           "--kubeconfig", str(sandbox.kubeconfig), "-o", "json"]

    def plan_now() -> dict[str, Any]:
        result = subprocess.run(cli, env=aws_env(sandbox), capture_output=True, text=True,
                                timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout)["default/edge"])

    sweep_drift_now(sandbox)
    assert plan_now()["actions"] == []
    lb = describe_nlb(elbv2, lb_name(svc))
    assert lb is not None
    listener = next(x for x in elbv2.describe_listeners(
        LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"] if x["Port"] == 80)
    elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
    since = max((c.seq for c in control.calls()), default=0)
    assert [a["op"] for a in plan_now()["actions"]] == ["CreateNlbListener"]
    assert [c.action for c in control.calls() if c.seq > since and c.mutating] == []
    # The drift sweep (two whole-fleet describes for NLBs) sees the target group no longer
    # attached, and the controller repairs it.
    sweep_drift_now(sandbox)
    wait_until(lambda: any(x["Port"] == 80 for x in elbv2.describe_listeners(
        LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]), timeout=60,
        what="the listener restored by the drift sweep")


def test_three_nlbs_keep_one_rule_per_node_group_and_unchanged_ones_cost_nothing(
    sandbox: SandboxState, ec2: Any, control: FidelityControl
) -> None:
    for name in ("nlb-a", "nlb-b"):
        nlb_service(sandbox, name, [{"name": "tcp", "port": 9000},
                                    {"name": "alt", "port": 9001}])
    for name in ("nlb-a", "nlb-b"):
        wait_until(partial(hostname, sandbox, name), timeout=90, what=f"{name} hostname")
    assert backend_rules(ec2, sandbox) == 1  # 3 NLBs, 5 ports: still one rule
    url = wait_until(lambda: leader_url(sandbox), timeout=60, what="a leader")
    sweep_drift_now(sandbox)
    wait_until(lambda: not any(c.mutating for c in control.calls(client=CLIENT)
                               if c.time > time.time() - 2), timeout=60, what="quiet")
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    before = metric(url, "k8s_aws_reconcile_total", controller="service")
    kubectl(sandbox, "label", "service", "nlb-a", "nlb-b", "--overwrite",
            f"touched={time.time_ns()}")
    wait_until(lambda: metric(url, "k8s_aws_reconcile_total", controller="service")
               >= before + 2, timeout=60, what="both reconciled")
    calls = [c.action for c in control.calls(client=CLIENT) if c.seq > since
             and c.service in ("elasticloadbalancing", "elb", "elbv2")]
    assert calls == [], calls


@pytest.mark.parametrize(("name", "ports", "annotations", "named"), [
    ("bad-mix", [{"name": "u", "port": 53, "protocol": "UDP", "nodePort": 30601},
                 {"name": "t", "port": 53, "protocol": "TCP", "nodePort": 30602}], {},
     "same nodePort"),
    ("bad-cert", [{"name": "tcp", "port": 443}],
     {"ssl-cert": "arn:aws:s3:::not-a-certificate"}, "aws-load-balancer-ssl-cert"),
    ("bad-tls-udp", [{"name": "dns", "port": 53, "protocol": "UDP"}],
     {"ssl-cert": "arn:aws:acm:us-west-2:123456789012:certificate/0a1b-2c3d"},
     "aws-load-balancer-ssl-ports: port 53 is UDP"),
    ("bad-eip", [{"name": "tcp", "port": 80}], {"eip-allocations": "eipalloc-0a1b2c3d4e5f6071"},
     "aws-load-balancer-eip-allocations"),
])
def test_bad_or_unsupported_input_is_a_warning_naming_it_and_no_aws_change(
    sandbox: SandboxState, elbv2: Any, name: str, ports: list[dict[str, Any]],
    annotations: dict[str, str], named: str,
) -> None:
    # nodePorts the apiserver has not handed out already (a random earlier pick may have)
    used = {p.get("nodePort") for s in kubectl_json(sandbox, "get", "services", "-A")["items"]
            for p in s["spec"].get("ports", [])}
    free = iter(n for n in range(30600, 32768) if n not in used)
    ports = [{**p, "nodePort": next(free)} if "nodePort" in p else p for p in ports]
    svc = nlb_service(sandbox, name, ports, annotations)
    warning = wait_until(
        lambda: next((e for e in events(sandbox, name) if e["reason"] == "InvalidConfiguration"
                      and named in e["message"]), None),
        timeout=60, what=f"a warning naming {named}")
    assert warning["type"] == "Warning"
    assert describe_nlb(elbv2, lb_name(svc)) is None
    kubectl(sandbox, "delete", "service", name)


def test_ssl_cert_makes_a_tls_listener_and_target_group_attributes_are_set(
    sandbox: SandboxState, elbv2: Any
) -> None:
    acm = emulator_session(sandbox).client("acm", endpoint_url=sandbox.emulator_url)
    cert = acm.request_certificate(DomainName="tls.example")["CertificateArn"]
    svc = nlb_service(sandbox, "tls", [{"name": "web", "port": 80},
                                       {"name": "https", "port": 443}],
                      {"ssl-cert": cert, "ssl-ports": "https", "proxy-protocol": "*",
                       "target-group-attributes": "deregistration_delay.timeout_seconds=30",
                       "cross-zone-load-balancing-enabled": "true"})
    wait_until(lambda: hostname(sandbox, "tls"), timeout=90, what="a hostname")
    lb = describe_nlb(elbv2, lb_name(svc))
    assert lb is not None
    listeners = {x["Port"]: x for x in elbv2.describe_listeners(
        LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
    assert listeners[80]["Protocol"] == "TCP"
    tls = listeners[443]
    assert (tls["Protocol"], tls["Certificates"][0]["CertificateArn"], tls["SslPolicy"]) == (
        "TLS", cert, "ELBSecurityPolicy-2016-08")
    for group in elbv2.describe_target_groups(
            LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]:
        attributes = {a["Key"]: a["Value"] for a in elbv2.describe_target_group_attributes(
            TargetGroupArn=group["TargetGroupArn"])["Attributes"]}
        assert attributes["proxy_protocol_v2.enabled"] == "true"
        assert attributes["deregistration_delay.timeout_seconds"] == "30"
    lb_attributes = {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(
        LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]}
    assert lb_attributes["load_balancing.cross_zone.enabled"] == "true"
    kubectl(sandbox, "delete", "service", "tls")
    assert describe_nlb(elbv2, lb_name(svc)) is None


def test_a_type_change_of_a_live_service_is_refused_and_the_old_lb_kept(
    sandbox: SandboxState, elb: Any, elbv2: Any
) -> None:
    svc = apply_service(sandbox, "switch")
    host = wait_until(lambda: hostname(sandbox, "switch"), timeout=60, what="a hostname")
    kubectl(sandbox, "annotate", "service", "switch", "--overwrite",
            "service.beta.kubernetes.io/aws-load-balancer-type=nlb")
    warning = wait_event(sandbox, "switch", "LoadBalancerTypeChange")
    assert "aws-load-balancer-type" in warning["message"]
    assert describe_lb(elb, lb_name(svc)) is not None
    assert describe_nlb(elbv2, lb_name(svc)) is None
    assert hostname(sandbox, "switch") == host
    kubectl(sandbox, "delete", "service", "switch")  # deletes the Classic ELB it still has
    assert describe_lb(elb, lb_name(svc)) is None


def serving(elbv2: Any, arn: str) -> set[str]:
    health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return {h["Target"]["Id"] for h in health
            if h["TargetHealth"]["State"] not in ("draining", "unused")}


def test_a_new_two_port_nlb_is_cheap_and_a_joining_node_is_one_call_per_target_group(
    sandbox: SandboxState, ec2: Any, elbv2: Any, control: FidelityControl
) -> None:
    sweep_drift_now(sandbox)  # no periodic sweep inside the counted windows
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    svc = nlb_service(sandbox, "nlb-joins", [{"name": "a", "port": 7000},
                                         {"name": "b", "port": 7001}])
    wait_until(lambda: hostname(sandbox, "nlb-joins"), timeout=90, what="a hostname")
    created = [c.action for c in control.calls(client=CLIENT) if c.seq > since]
    assert len(created) <= 14, created  # the backend group exists: the goal
    lb = describe_nlb(elbv2, lb_name(svc))
    assert lb is not None
    arns = [g["TargetGroupArn"] for g in elbv2.describe_target_groups(
        LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]]
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    instance, node = launch_worker(sandbox, ec2)
    wait_initialized(sandbox, node)
    wait_until(lambda: all(instance in serving(elbv2, arn) for arn in arns), timeout=90,
               what=f"{instance} registered in both target groups")
    elb_calls = [c.action for c in control.calls(client=CLIENT) if c.seq > since
                 and c.service in ("elasticloadbalancing", "elbv2")]
    # Every NLB of the module (this one and the three before) takes the node: one call per
    # target group, and no describe.
    groups = len([g for g in elbv2.describe_target_groups()["TargetGroups"]
                  if g["TargetGroupName"].startswith("k8s-default-")])
    assert groups == 8
    assert elb_calls.count("RegisterTargets") == groups, elb_calls
    assert not [a for a in elb_calls if a.startswith("Describe")], elb_calls
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    ec2.terminate_instances(InstanceIds=[instance])

    def calls_since() -> list[str]:
        return [c.action for c in control.calls(client=CLIENT) if c.seq > since
                and c.service in ("elasticloadbalancing", "elbv2")]

    # The emulator stops reporting a terminated instance's target as serving by itself, so
    # the controller's own calls are what is waited for.
    wait_until(lambda: calls_since().count("DeregisterTargets") >= groups, timeout=90,
               what=f"{instance} deregistered from every target group")
    wait_until(lambda: not any(c.time > time.time() - 2 for c in control.calls(client=CLIENT)),
               timeout=60, what="quiet")
    elb_calls = calls_since()
    # One call per target group; AWS answers InvalidTarget for an instance already
    # terminated (it deregisters those itself), which costs one more, single-target, call.
    assert groups <= elb_calls.count("DeregisterTargets") <= 2 * groups, elb_calls
    assert all(instance not in serving(elbv2, arn) for arn in arns)
    assert "RegisterTargets" not in elb_calls and "DescribeLoadBalancers" not in elb_calls


def test_deleting_every_nlb_service_leaves_nothing_owned(
    sandbox: SandboxState, ec2: Any, elbv2: Any, control: FidelityControl
) -> None:
    """One batched read for the deletions that keep the backend group, the NLBs first, their
    target groups and groups after one shared wait on the interfaces: no refused delete
    retried, no NLB described again once deleted."""
    names = {n: lb_name(service(sandbox, n) or {"metadata": {"uid": ""}})
             for n in ("edge", "nlb-a", "nlb-b", "nlb-joins")}
    sweep_drift_now(sandbox)  # no periodic sweep inside the counted window
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    kubectl(sandbox, "delete", "service", *names)
    for name in names:
        assert service(sandbox, name) is None  # kubectl delete waits for the finalizer
    calls = [c for c in control.calls(client=CLIENT) if c.seq > since]
    ops = [(c.service, c.action, c.error) for c in calls]
    done = [c.action for c in calls if c.mutating and not c.error]
    assert done.count("DeleteLoadBalancer") == 4 and done.count("DeleteTargetGroup") == 8, ops
    # Each target group and group tried after the wait: at most one early try refused
    # (AWS may free one a moment after the interfaces go), then one more round of the wait.
    refused = [c for c in calls if c.error]
    assert {c.error for c in refused} <= {"ResourceInUse", "DependencyViolation"}, ops
    assert len(refused) <= 2, ops
    # The deletions read in one batch, not one full observation each (which reads listeners,
    # target health, attributes): 16 reads for these 4 when measured.
    reads = [c.action for c in calls if not c.mutating]
    assert not {"DescribeListeners", "DescribeTargetHealth", "DescribeTargetGroupAttributes",
                "DescribeLoadBalancerAttributes"} & set(reads), ops
    assert len(reads) <= 20 + 2 * len(refused), ops
    for lb in names.values():
        assert describe_nlb(elbv2, lb) is None
        assert not ec2.describe_security_groups(Filters=[
            {"Name": "group-name", "Values": [f"k8s-elb-{lb}"]}])["SecurityGroups"]
    left = [g["TargetGroupName"] for g in elbv2.describe_target_groups()["TargetGroups"]
            if g["TargetGroupName"].startswith(
                ("k8s-default-edge-", "k8s-default-nlb"))]  # nlb-a -> nlba: the name drops "-"
    assert left == []
