"""Side by side with the reference: k8s-aws's controller-manager and kubernetes/cloud-provider-aws
on the same sandbox shape, AWS calls counted at the emulator (its call log, per client).

One sandbox per controller run (`--without-controllers`), then, in order: node init (the
controller starts against N uninitialized nodes), idle, then per load balancer family
(`--families`, default both, Classic first): create / steady / one node excluded / included /
delete, and create under injected throttling. Classic: S one-port Services (`clb_*`,
`node_excluded`, `node_included`); Network: S Services annotated
`aws-load-balancer-type: nlb` with two TCP ports, 80->8080 and 443->8443 (`nlb_*`), a node
being "behind" an NLB when its instance is a registered (not draining) target of its target
group, as the bench's own elbv2 DescribeTargetHealth sees it. When both families run, the
Classic throttled Services are deleted between them (`clb_cleanup`, not in the tables), so
the NLB phases start from no load balancer. Per phase: seconds, calls by operation, errors by
code, retryable errors (throttles and 5xx: each makes the SDK call again), RSS after it and
its peak during it; RSS sampled every second. One JSON line per run.

    .venv/bin/python bench/reference.py --nodes 20 --services 20 [--controller ours|ref]
        [--families clb,nlb] [--syncs 4] [--idle 120] [--steady 60] [--linger 60]
        [--throttle 0.2] [--only-init] [--stop-after-steady]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from harness import kubectl, wait

from k8s_aws_sandbox import procfs
from k8s_aws_sandbox.controllers import (
    aws_environment,
    controller_manager_spec,
    install_rbac,
    service_account_kubeconfig,
)
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.ports import free_port
from k8s_aws_sandbox.processes import ProcessGroup
from k8s_aws_sandbox.reference import APP_ID as REFERENCE_APP_ID
from k8s_aws_sandbox.reference import BINARY, reference_specs
from k8s_aws_sandbox.state import SandboxState, uninitialized_nodes

OUR_APP_ID = "k8s-aws-controller-manager"
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
NLB_TYPE = "service.beta.kubernetes.io/aws-load-balancer-type"
FAMILIES = ("clb", "nlb")
RETRYABLE = {"Throttling", "RequestLimitExceeded", "ThrottlingException", "InternalError",
             "ServiceUnavailable", "Unavailable", ""}
CLI = [sys.executable, "-m", "k8s_aws.cli.main", "sandbox"]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.stopped = pid, threading.Event()
        self.samples: list[tuple[float, float]] = []
        self.started_at = time.monotonic()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            value = rss_mb(self.pid)
            if value:
                self.samples.append((round(time.monotonic() - self.started_at, 1), round(value, 1)))

    @property
    def peak(self) -> float:
        return max((v for _, v in self.samples), default=0.0)

    def peak_since(self, index: int) -> float:
        return max((v for _, v in self.samples[index:]), default=self.last)

    @property
    def last(self) -> float:
        return self.samples[-1][1] if self.samples else 0.0


class Calls:
    """The emulator's call log of one client, read phase by phase."""

    def __init__(self, control: FidelityControl, client: str) -> None:
        self.control, self.client = control, client
        self.seq = self._last()

    def _last(self) -> int:
        since = getattr(self, "seq", 0)
        records = self.control.calls(since=since)
        return records[-1].seq if records else since

    def phase(self) -> dict[str, Any]:
        records = self.control.calls(client=self.client, since=self.seq)
        self.seq = max([self.seq, self._last(), *(r.seq for r in records)])
        errors = Counter(f"{r.action}:{r.error}" for r in records if r.error is not None)
        retryable = sum(1 for r in records if r.error is not None
                        and (r.error in RETRYABLE or r.status >= 500))
        return {"calls": len(records), "by_operation": dict(Counter(r.action for r in records)),
                "errors": dict(errors), "retryable_errors": retryable}


def services(prefix: str, count: int) -> str:
    items = [{"apiVersion": "v1", "kind": "Service",
              "metadata": {"name": f"{prefix}-{i}", "namespace": "default"},
              "spec": {"type": "LoadBalancer", "selector": {"app": f"{prefix}-{i}"},
                       "ports": [{"port": 80, "targetPort": 8080}]}}
             for i in range(count)]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def nlb_services(prefix: str, count: int) -> str:
    """Network LB Services: two TCP ports each, 80->8080 and 443->8443."""
    items = [{"apiVersion": "v1", "kind": "Service",
              "metadata": {"name": f"{prefix}-{i}", "namespace": "default",
                           "annotations": {NLB_TYPE: "nlb"}},
              "spec": {"type": "LoadBalancer", "selector": {"app": f"{prefix}-{i}"},
                       "ports": [{"name": "http", "port": 80, "targetPort": 8080},
                                 {"name": "https", "port": 443, "targetPort": 8443}]}}
             for i in range(count)]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def with_hostnames(state: SandboxState, prefix: str) -> int:
    data = json.loads(kubectl(state, "get", "services", "-o", "json"))
    return sum(1 for s in data["items"] if s["metadata"]["name"].startswith(prefix + "-")
               and (s.get("status", {}).get("loadBalancer", {}).get("ingress") or []))


def service_count(state: SandboxState, prefix: str) -> int:
    names = kubectl(state, "get", "services", "-o", "name").split()
    return sum(1 for n in names if n.startswith(f"service/{prefix}-"))


class Run:
    def __init__(self, args: argparse.Namespace, kind: str) -> None:
        self.args, self.kind = args, kind
        self.dir = Path(tempfile.mkdtemp(prefix=f"k8s-aws-bench-ref-{kind}-"))
        self.phases: dict[str, dict[str, Any]] = {}
        self.notes: dict[str, Any] = {}  # merged into the phase being measured

    def up(self) -> None:
        # The private-DNS shape: the reference finds instances by private DNS name only (the
        # sandbox's default is the BOSH release's `<id>.k8s` names, which it cannot match).
        subprocess.run([*CLI, "up", "--dir", str(self.dir), "--nodes", str(self.args.nodes),
                        "--node-naming", "private-dns",
                        "--without-controllers", "--ready-timeout", "1800"],
                       check=True, capture_output=True)
        self.state = SandboxState.load(self.dir)
        self.control = FidelityControl(self.state.emulator_url)
        self.control.patch_config({"delays": {"interface_linger": self.args.linger},
                                   "call_log_size": 0})
        self.elb = bench_client(self.state, "elb")
        self.elbv2 = bench_client(self.state, "elbv2")

    def start_controller(self) -> int:
        group, state = ProcessGroup(self.dir), self.state
        if self.kind == "ours":
            kubeconfig = service_account_kubeconfig(
                state.root / "bin" / "kubectl", state.kubeconfig, state.apiserver_url,
                state.ca_cert, state.root / "controller-manager.kubeconfig")
            aws_env = aws_environment(state.emulator_url, state.imds_url, state.region)
            spec = controller_manager_spec("controller-manager", kubeconfig, free_port(),
                                           state.root / "calls" / "controller-manager.jsonl",
                                           aws_env)
            (state.root / "calls").mkdir(exist_ok=True)
            return group.start(spec)
        relay, reference = reference_specs(state, "reference", self.args.syncs)
        group.start(relay)
        wait(lambda: len(list((state.root / "relay").glob("*.sock"))) >= 3, 30, "the relay")
        leader = group.start(reference)
        return int(wait_for_child(leader, BINARY))

    def initialize(self) -> None:
        """Until every node is initialized; past --init-timeout, record how far it got."""
        try:
            wait(lambda: uninitialized_nodes(self.state) == 0, self.args.init_timeout,
                 "nodes initialized", 1.0)
        except TimeoutError:
            self.initialized = self.args.nodes - uninitialized_nodes(self.state)

    def measure(self, name: str, action: Any) -> None:
        started, first_sample = time.monotonic(), len(self.rss.samples)
        unfinished = None
        try:
            action()
        except TimeoutError as exc:  # bounded phases: record what was measured, go on
            unfinished = str(exc)
        phase = self.calls.phase()
        phase.update(self.notes)
        self.notes = {}
        if unfinished:
            phase["incomplete"] = unfinished
        phase["seconds"] = round(time.monotonic() - started, 1)
        phase["rss_mb"] = self.rss.last
        phase["rss_peak_mb"] = self.rss.peak_since(first_sample)
        self.phases[name] = phase
        if name == "node_init" and hasattr(self, "initialized"):
            phase["incomplete"] = f"{self.initialized} of {self.args.nodes} initialized"
        print(f"[bench] {self.kind} {name}: {phase['calls']} calls, {phase['seconds']} s",
              file=sys.stderr, flush=True)

    def go(self) -> dict[str, Any]:
        args = self.args
        self.up()
        if self.kind == "ours":
            install_rbac(self.state.root / "bin" / "kubectl", self.state.kubeconfig)
        client = OUR_APP_ID if self.kind == "ours" else REFERENCE_APP_ID
        self.calls = Calls(self.control, client)
        pid = self.start_controller()
        self.rss = RssSampler(pid)
        self.rss.start()
        self.measure("node_init", self.initialize)
        if not args.only_init:
            self.measure("idle", lambda: time.sleep(args.idle))
            self.family_phases()
        self.rss.stopped.set()
        return {"controller": self.label, "nodes": args.nodes, "services": args.services,
                "families": self.families, "linger_s": args.linger, "phases": self.phases,
                "rss_peak_mb": self.rss.peak,
                "rss_samples": self.rss.samples[:: max(1, len(self.rss.samples) // 60)],
                "service_groups_left_after_delete": getattr(self, "leftovers", None),
                "nlb_left_after_delete": getattr(self, "nlb_leftovers", None)}

    @property
    def families(self) -> list[str]:
        wanted = {f.strip() for f in self.args.families.split(",")}
        return [f for f in FAMILIES if f in wanted]

    def family_phases(self) -> None:
        """Classic first (its phases as they always were), then Network; with
        --stop-after-steady, only the first family's create and steady."""
        families = self.families
        if "clb" in families:
            self.load_balancer_phases()
            if self.args.stop_after_steady:
                return
            if "nlb" in families:
                self.measure("clb_cleanup", lambda: self.delete_services("thr", "Services gone"))
        if "nlb" in families:
            self.nlb_phases()

    @property
    def label(self) -> str:
        return "k8s-aws" if self.kind == "ours" else f"cloud-provider-aws syncs={self.args.syncs}"

    def load_balancer_phases(self) -> None:
        args, state = self.args, self.state
        count = args.services
        self.measure("clb_create", lambda: (
            kubectl(state, "apply", "-f", "-", stdin=services("svc", count)),
            wait(lambda: with_hostnames(state, "svc") >= count, args.timeout, "hostnames", 1.0)))
        self.measure("clb_steady", lambda: time.sleep(args.steady))
        if args.stop_after_steady:
            return
        name, instance = self.first_node()
        self.measure("node_excluded", lambda: (
            kubectl(state, "label", "node", name, f"{EXCLUDE_LABEL}=true"),
            wait(lambda: self.behind(instance) == 0, args.timeout, "node deregistered", 1.0)))
        self.measure("node_included", lambda: (
            kubectl(state, "label", "node", name, f"{EXCLUDE_LABEL}-"),
            wait(lambda: self.behind(instance) == count, args.timeout, "node registered", 1.0)))
        self.measure("clb_delete", lambda: (
            kubectl(state, "delete", "services", *[f"svc-{i}" for i in range(count)],
                    "--wait=false"),
            wait(lambda: service_count(state, "svc") == 0, args.timeout, "Services gone", 1.0)))
        self.leftovers = self.service_groups()
        if "incomplete" in self.phases["clb_delete"]:
            self.phases["clb_delete"]["incomplete"] += (
                f": {service_count(state, 'svc')} of {count} Services left")
        self.control.patch_config({"faults": [{"pattern": "*", "kind": "throttle",
                                               "rate": args.throttle,
                                               "clients": self.calls.client}]})
        self.measure("clb_create_throttled", lambda: (
            kubectl(state, "apply", "-f", "-", stdin=services("thr", count)),
            wait(lambda: with_hostnames(state, "thr") >= count, args.timeout, "hostnames", 1.0)))
        self.control.patch_config({"faults": []})

    def first_node(self) -> tuple[str, str]:
        """The node the exclusion phases label: the first by name, and its instance id."""
        node = sorted(json.loads(kubectl(self.state, "get", "nodes", "-o", "json"))["items"],
                      key=lambda n: n["metadata"]["name"])[0]
        return node["metadata"]["name"], node["spec"]["providerID"].rsplit("/", 1)[-1]

    def delete_services(self, prefix: str, what: str, *more: Any) -> None:
        """Delete every `prefix-N` Service; until they are gone and each of `more` holds."""
        state, count, started = self.state, self.args.services, time.monotonic()
        kubectl(state, "delete", "services", *[f"{prefix}-{i}" for i in range(count)],
                "--wait=false", "--ignore-not-found")

        def done() -> bool:
            if service_count(state, prefix):
                return False
            self.notes.setdefault("services_gone_s", round(time.monotonic() - started, 1))
            return all(check() for check in more)

        wait(done, self.args.timeout, what, 1.0)

    def nlb_phases(self) -> None:
        """The Classic phases again for Network LBs with two ports (target groups, not
        instances behind the LB)."""
        args, state = self.args, self.state
        count, groups = args.services, 2 * args.services
        rules_before = self.rules_outside_service_groups()
        self.measure("nlb_create", lambda: (
            kubectl(state, "apply", "-f", "-", stdin=nlb_services("nlb", count)),
            wait(lambda: with_hostnames(state, "nlb") >= count, args.timeout, "hostnames", 1.0)))
        self.measure("nlb_steady", lambda: time.sleep(args.steady))
        if args.stop_after_steady:
            return
        name, instance = self.first_node()
        self.measure("nlb_node_excluded", lambda: (
            kubectl(state, "label", "node", name, f"{EXCLUDE_LABEL}=true"),
            wait(lambda: self.targeted(instance)[0] == 0, args.timeout,
                 "node deregistered from every target group", 1.0)))
        self.measure("nlb_node_included", lambda: (
            kubectl(state, "label", "node", name, f"{EXCLUDE_LABEL}-"),
            wait(lambda: self.targeted(instance) == (groups, groups), args.timeout,
                 "node registered in every target group", 1.0)))
        self.measure("nlb_delete", lambda: self.delete_services(
            "nlb", "Services, NLBs and target groups gone",
            lambda: self.network_load_balancers() == 0, lambda: self.target_groups() == 0))
        self.nlb_leftovers = {"nlbs": self.network_load_balancers(),
                              "target_groups": self.target_groups(),
                              "service_groups": self.service_groups(),
                              "rules_added_outside_service_groups":
                                  self.rules_outside_service_groups() - rules_before}
        if "incomplete" in self.phases["nlb_delete"]:
            left = self.nlb_leftovers
            self.phases["nlb_delete"]["incomplete"] += (
                f": {service_count(state, 'nlb')} of {count} Services, {left['nlbs']} NLBs, "
                f"{left['target_groups']} target groups left")
        self.control.patch_config({"faults": [{"pattern": "*", "kind": "throttle",
                                               "rate": args.throttle,
                                               "clients": self.calls.client}]})
        self.measure("nlb_create_throttled", lambda: (
            kubectl(state, "apply", "-f", "-", stdin=nlb_services("nthr", count)),
            wait(lambda: with_hostnames(state, "nthr") >= count, args.timeout, "hostnames", 1.0)))
        self.control.patch_config({"faults": []})
        for name, prefix in (("nlb_create", "nlb"), ("nlb_create_throttled", "nthr")):
            if "incomplete" in self.phases[name]:
                self.phases[name]["incomplete"] += (
                    f": {with_hostnames(state, prefix)} of {count} hostnames")

    def targeted(self, instance: str) -> tuple[int, int]:
        """(target groups that have `instance` as a registered, not draining, target; all
        target groups), from elbv2 DescribeTargetHealth by the bench's own client."""
        pages = self.elbv2.get_paginator("describe_target_groups").paginate()
        arns = [g["TargetGroupArn"] for page in pages for g in page["TargetGroups"]]
        registered = 0
        for arn in arns:
            health = self.elbv2.describe_target_health(TargetGroupArn=arn)
            if any(t["Target"]["Id"] == instance
                   and t.get("TargetHealth", {}).get("State") != "draining"
                   for t in health["TargetHealthDescriptions"]):
                registered += 1
        return registered, len(arns)

    def rules_outside_service_groups(self) -> int:
        """Ingress rules (one per address range or group) of the security groups that belong
        to no Service: the node groups, and our cluster's backend group."""
        groups = bench_client(self.state, "ec2").describe_security_groups()["SecurityGroups"]
        return sum(len(p.get("IpRanges", [])) + len(p.get("Ipv6Ranges", []))
                   + len(p.get("UserIdGroupPairs", [])) + len(p.get("PrefixListIds", []))
                   for g in groups
                   if not any(t["Key"] == "kubernetes.io/service-name" for t in g.get("Tags", []))
                   for p in g.get("IpPermissions", []))

    def network_load_balancers(self) -> int:
        pages = self.elbv2.get_paginator("describe_load_balancers").paginate()
        return sum(1 for page in pages for lb in page["LoadBalancers"]
                   if lb.get("Type") == "network")

    def target_groups(self) -> int:
        pages = self.elbv2.get_paginator("describe_target_groups").paginate()
        return sum(len(page["TargetGroups"]) for page in pages)

    def behind(self, instance: str) -> int:
        pages = self.elb.get_paginator("describe_load_balancers").paginate()
        return sum(1 for page in pages for lb in page["LoadBalancerDescriptions"]
                   if any(i["InstanceId"] == instance for i in lb["Instances"]))

    def service_groups(self) -> int:
        """Security groups of a Service (tagged with its name) still in the emulator."""
        groups = bench_client(self.state, "ec2").describe_security_groups(
            Filters=[{"Name": "tag-key", "Values": ["kubernetes.io/service-name"]}])
        return len(groups["SecurityGroups"])

    def down(self) -> None:
        subprocess.run([*CLI, "down", "--dir", str(self.dir)], capture_output=True, check=False)


def bench_client(state: SandboxState, service: str) -> Any:
    """The benchmark's own reads, under the app id `bench` (not counted for either side)."""
    session: Any = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench",
                                         region_name=state.region)
    settings: dict[str, Any] = {"user_agent_appid": "bench"}
    return session.client(service, endpoint_url=state.emulator_url, config=Config(**settings))


def wait_for_child(leader: int, binary: str) -> int:
    """The pid of `binary` in the session `leader` started (the reference, under the relay)."""
    found: dict[str, int] = {}

    def started() -> bool:
        for pid in procfs.session_pids(leader):
            try:
                if Path(f"/proc/{pid}/exe").resolve().name == binary:
                    found["pid"] = pid
                    return True
            except OSError:
                continue
        return False

    wait(started, 30, f"{binary} to start")
    return found["pid"]


def emulator_up(url: str) -> bool:
    with urllib.request.urlopen(url + "/_k8s_aws/config", timeout=5) as response:
        return bool(response.status == 200)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--controller", choices=("ours", "ref"), default="ours")
    parser.add_argument("--families", default="clb,nlb",
                        help="load balancer families, in this order: clb (Classic), nlb "
                        "(Network, 2 ports)")
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--syncs", type=int, default=4, help="reference --concurrent-service-syncs")
    parser.add_argument("--idle", type=float, default=120.0)
    parser.add_argument("--steady", type=float, default=60.0)
    parser.add_argument("--linger", type=float, default=60.0,
                        help="seconds an ELB's interfaces outlive it (AWS: minutes)")
    parser.add_argument("--throttle", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--init-timeout", type=float, default=1800.0)
    parser.add_argument("--only-init", action="store_true")
    parser.add_argument("--stop-after-steady", action="store_true",
                        help="the first family's create and steady only (memory at scale)")
    args = parser.parse_args()
    unknown = {f.strip() for f in args.families.split(",")} - set(FAMILIES)
    if unknown or not args.families.strip():
        parser.error(f"--families: {', '.join(sorted(unknown)) or 'none given'}; "
                     f"choose from {', '.join(FAMILIES)}")
    run = Run(args, args.controller)
    try:
        print(json.dumps(run.go()), flush=True)
    finally:
        run.down()


if __name__ == "__main__":
    main()
