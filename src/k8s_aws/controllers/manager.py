"""The controller manager: leader election, informers, controllers, health and metrics."""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge

from k8s_aws.cloud.calls import CallRecorder
from k8s_aws.cloud.clb import LoadBalancerApplier
from k8s_aws.cloud.instances import InstanceDirectory
from k8s_aws.cloud.interfaces import InterfaceWaiter
from k8s_aws.cloud.lb_observer import LoadBalancerObserver
from k8s_aws.cloud.network import NetworkDirectory
from k8s_aws.cloud.nlb_observer import NetworkLoadBalancerReader
from k8s_aws.cloud.runner import Runner
from k8s_aws.cloud.session import AwsClients
from k8s_aws.controllers.health import health_app, start_health_server
from k8s_aws.controllers.node_init import NodeInitController, name_lookups
from k8s_aws.controllers.node_lifecycle import NodeLifecycleController
from k8s_aws.controllers.service import ServiceController
from k8s_aws.controllers.settings import ControllerManagerSettings
from k8s_aws.controllers.worker import Controller, ReconcileMetrics, run_workers
from k8s_aws.kube.client import ApiClient, api_client, node_lister
from k8s_aws.kube.events import EventRecorder
from k8s_aws.kube.informer import Informer, Obj
from k8s_aws.kube.leader import LeaderElector
from k8s_aws.kube.nodes import NodeView, NodeWriter
from k8s_aws.kube.services import ServiceWriter, service_lister
from k8s_aws.loadbalancer.service_plan import PlannerSettings

log = logging.getLogger(__name__)
COMPONENT = "k8s-aws-controller-manager"


class NodeEventHandler(Protocol):
    def on_event(self, event: str, key: str, old: Obj | None, new: Obj | None) -> None: ...


class _NodeEvents:
    """Adapts the service controller's node handler to the node informer's dispatch."""

    def __init__(self, controller: ServiceController) -> None:
        self._controller = controller

    def on_event(self, event: str, key: str, old: Obj | None, new: Obj | None) -> None:
        self._controller.on_node_event(event, key, old, new)


class _DeletedNodeNames:
    """A deleted Node's name may come back on another instance: AWS reuses a terminated VM's
    IP (its private DNS name), and BOSH recreates VMs with their static IPs and `id` tags."""

    def __init__(self, directory: InstanceDirectory, region: str) -> None:
        self._directory = directory
        self._region = region

    def on_event(self, event: str, key: str, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            gone = NodeView.of(old) if old is not None else NodeView.of({"metadata": {"name": key}})
            for lookup in name_lookups(gone, self._region):
                self._directory.forget_values(lookup.method.value, lookup.values)


class ControllerManager:
    def __init__(self, settings: ControllerManagerSettings) -> None:
        self.settings = settings
        self.registry = CollectorRegistry()
        self.calls = CallRecorder(self.registry, settings.call_log)
        self.aws = AwsClients(settings.aws, self.calls)
        self.reconciles = ReconcileMetrics(self.registry)
        self.leading = Gauge(
            "k8s_aws_leader", "1 while this replica holds the leader Lease.",
            registry=self.registry,
        )
        self.informer_events = Counter(
            "k8s_aws_informer_events_total", "Watch events delivered to the controllers.",
            ["informer"], registry=self.registry,
        )
        self.monitor_sweeps = Gauge(
            "k8s_aws_node_monitor_sweeps", "Sweeps of the node lifecycle monitor so far.",
            registry=self.registry,
        )
        self.drift_sweeps = Gauge(
            "k8s_aws_service_drift_sweeps", "Drift sweeps of the service controller so far.",
            registry=self.registry,
        )
        self.drift_trigger = asyncio.Event()
        self.synced = False
        self.is_leader = False
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="aws")
        self.informers: list[Informer] = []

    def ready(self) -> bool:
        """Ready once a leader's caches have synced; a waiting follower is ready to take over."""
        return self.synced or not self.is_leader

    async def lead(self, api: ApiClient) -> None:
        s = self.settings
        self.leading.set(1)
        self.is_leader = True
        log.info("leading: starting controllers %s", ", ".join(sorted(s.controllers)))
        directory = InstanceDirectory(
            self.aws.client("ec2"), self._executor, cluster=s.cluster_name
        )
        writer = NodeWriter(api)
        events = EventRecorder(api, COMPONENT)
        handlers: list[NodeEventHandler] = [_DeletedNodeNames(directory, s.region)]
        controllers: list[Controller] = []
        tasks: list[asyncio.Task[None]] = []

        def dispatch(event: str, key: str, old: Obj | None, new: Obj | None) -> None:
            self.informer_events.labels("nodes").inc()
            for handler in handlers:
                handler.on_event(event, key, old, new)

        nodes = Informer("nodes", node_lister(api), dispatch)
        self.informers.append(nodes)
        lifecycle: NodeLifecycleController | None = None
        init: NodeInitController | None = None
        if "cloud-node" in s.controllers:
            init = NodeInitController(
                cache=nodes.cache, directory=directory, writer=writer, events=events,
                region=s.region, ip_families=s.ip_families,
            )
            handlers.append(init)
            controllers.append(init)
        if "cloud-node-lifecycle" in s.controllers:
            lifecycle = NodeLifecycleController(
                cache=nodes.cache, directory=directory, writer=writer, events=events,
                region=s.region, monitor_period=s.node_monitor_period,
            )
            handlers.append(lifecycle)
            controllers.append(lifecycle)
        informers = [nodes]
        if "service" in s.controllers:
            service_controller = self._service_controller(api, nodes, directory, events)
            handlers.append(_NodeEvents(service_controller))
            controllers.append(service_controller)
            informers.append(self.informers[-1])
        tasks += [asyncio.create_task(i.run()) for i in informers]
        for informer in informers:
            await informer.synced.wait()
        if init is not None:
            await init.prefetch()
        self.synced = True
        log.info("caches synced: %d nodes", len(nodes.cache))
        for controller in controllers:
            tasks.append(asyncio.create_task(run_workers(controller, s.workers, self.reconciles)))
        if "service" in s.controllers:
            tasks.append(asyncio.create_task(
                service_controller.drift_loop(s.service_drift_period, self.drift_trigger)))
            self.drift_sweeps.set_function(lambda: service_controller.sweeps)
        if lifecycle is not None:
            self.monitor_sweeps.set_function(lambda: lifecycle.sweeps)
            tasks.append(asyncio.create_task(lifecycle.monitor()))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    def _service_controller(
        self, api: ApiClient, nodes: Informer, directory: InstanceDirectory, events: EventRecorder
    ) -> ServiceController:
        s = self.settings
        run = Runner(self._executor)
        ec2 = self.aws.client("ec2")
        controller: ServiceController

        def dispatch(event: str, key: str, old: Obj | None, new: Obj | None) -> None:
            self.informer_events.labels("services").inc()
            controller.on_service_event(event, key, old, new)

        services = Informer("services", service_lister(api), dispatch)
        self.informers.append(services)
        elb = self.aws.client("elb")
        elbv2 = self.aws.client("elbv2")
        controller = ServiceController(
            services=services.cache, nodes=nodes.cache,
            observer=LoadBalancerObserver(
                elb, ec2, run, s.cluster_name, directory, NetworkDirectory(ec2, run), s.vpc_id,
                nlb=NetworkLoadBalancerReader(elbv2, run, s.cluster_name)),
            applier=LoadBalancerApplier(elb, ec2, run, s.cluster_name, elbv2),
            writer=ServiceWriter(api), events=events,
            settings=PlannerSettings(s.cluster_name, s.vpc_id),
            waiter=InterfaceWaiter(ec2, run),
        )
        return controller

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT (exit 0, Lease released) or leadership is lost (exit 1)."""
        s = self.settings
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # SIGUSR1: check every load balancer for drift now instead of at the next period.
        loop.add_signal_handler(signal.SIGUSR1, self.drift_trigger.set)
        runner = None
        if s.metrics_port is not None:
            runner = await start_health_server(
                health_app(self.registry, self.ready), s.metrics_host, s.metrics_port
            )
        api = await api_client(s.kubeconfig)
        elector = LeaderElector(api, s.identity, s.leader) if s.leader_elect else None
        work = asyncio.create_task(
            elector.run(lambda: self.lead(api)) if elector else self.lead(api)
        )
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if work in done:
                if work.exception() is not None:
                    raise work.exception()  # type: ignore[misc]
                log.error("lost the leader Lease; exiting so a fresh start can compete again")
                return 1
            log.info("shutting down")
            return 0
        finally:
            work.cancel()
            stopper.cancel()
            # Let the controllers and informers stop before their API client closes.
            await asyncio.gather(work, stopper, return_exceptions=True)
            if elector is not None:
                await elector.release()
            await api.close()
            if runner is not None:
                await runner.cleanup()
            self._executor.shutdown(wait=False, cancel_futures=True)
