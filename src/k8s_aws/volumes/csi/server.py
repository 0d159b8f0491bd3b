"""The driver process: a grpc.aio server on a unix socket with the services of its mode;
stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import grpc
from prometheus_client import CollectorRegistry

from k8s_aws.cloud.calls import CallRecorder
from k8s_aws.volumes.csi.backend import Backend
from k8s_aws.volumes.csi.controller import Controller
from k8s_aws.volumes.csi.identity import Identity
from k8s_aws.volumes.csi.node import Node
from k8s_aws.volumes.csi.node_identity import NodeIdentity
from k8s_aws.volumes.csi.proto import csi_pb2_grpc
from k8s_aws.volumes.csi.settings import DriverSettings

log = logging.getLogger("k8s_aws.csi")


def _prepare_socket(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_socket() or path.exists():
        path.unlink()  # a stale socket from a previous run


async def serve(settings: DriverSettings) -> int:
    server = grpc.aio.server()
    node_identity = NodeIdentity(settings)
    identity = Identity(settings, node_identity if settings.node else None)
    csi_pb2_grpc.add_IdentityServicer_to_server(identity, server)
    if settings.controller:  # the node never calls AWS: no clients in node mode
        backend = Backend.create(settings, CallRecorder(CollectorRegistry(), settings.call_log))
        csi_pb2_grpc.add_ControllerServicer_to_server(Controller(backend), server)
    identity_task = None
    if settings.node:
        csi_pb2_grpc.add_NodeServicer_to_server(Node(settings, node_identity), server)
        identity_task = asyncio.create_task(node_identity.run())
    _prepare_socket(settings.socket_path)
    server.add_insecure_port(f"unix://{settings.socket_path}")
    await server.start()
    identity.ready = True
    log.info("%s serving %s mode on %s", settings.driver_name, settings.mode,
             settings.socket_path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    identity.ready = False
    if identity_task is not None:
        identity_task.cancel()
    await server.stop(grace=5)
    log.info("stopped")
    return 0
