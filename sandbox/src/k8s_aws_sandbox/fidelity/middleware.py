"""The fidelity layer: a WSGI middleware around the emulator that makes it behave like AWS.

Per AWS call, under one lock (the emulator is single-threaded at heart, and a call must see
a consistent world): run the state steps that have come due, maybe inject a fault, let the
behaviours refuse or answer the call, else hand it to the emulator and let the behaviours
adjust its state and answer; then log the call and fire crash hooks. Paths under
`/_k8s_aws/` are the control API; `/moto-api/reset` also forgets the layer's records.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from k8s_aws_sandbox.fidelity import moto_state
from k8s_aws_sandbox.fidelity.addresses import InstanceAddresses
from k8s_aws_sandbox.fidelity.attachments import Attachments
from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.blockdevices import BlockDevices
from k8s_aws_sandbox.fidelity.calllog import CallLog, CallRecord
from k8s_aws_sandbox.fidelity.classic import ClassicDescriptions
from k8s_aws_sandbox.fidelity.config import FidelityConfig
from k8s_aws_sandbox.fidelity.control_api import ControlApi
from k8s_aws_sandbox.fidelity.crash import CrashHooks, Killer, sigkill
from k8s_aws_sandbox.fidelity.dns_names import RegionalDnsNames
from k8s_aws_sandbox.fidelity.ebs import Volumes
from k8s_aws_sandbox.fidelity.elbv2_codes import Elbv2Codes
from k8s_aws_sandbox.fidelity.errorcodes import ErrorCodes
from k8s_aws_sandbox.fidelity.faults import FaultDice, fault_refusal
from k8s_aws_sandbox.fidelity.groups import SecurityGroups
from k8s_aws_sandbox.fidelity.interfaces import LoadBalancerInterfaces
from k8s_aws_sandbox.fidelity.loadbalancers import LoadBalancers
from k8s_aws_sandbox.fidelity.nlb_addresses import NlbAddresses
from k8s_aws_sandbox.fidelity.nlb_health import TargetHealth
from k8s_aws_sandbox.fidelity.nlb_listeners import ListenerChanges
from k8s_aws_sandbox.fidelity.request import (
    CONTROL_PREFIX,
    AwsRequest,
    TruncatedBody,
    parse,
    read_body,
)
from k8s_aws_sandbox.fidelity.responses import Refusal, Reply, error_code, error_reply
from k8s_aws_sandbox.fidelity.timeline import Clock, Timeline
from k8s_aws_sandbox.fidelity.topology import InstanceTopology
from k8s_aws_sandbox.loopdevices import LoopDevices

log = logging.getLogger(__name__)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
StartResponse = Callable[..., Any]


class FidelityMiddleware:
    def __init__(
        self,
        app: WsgiApp,
        config: FidelityConfig | None = None,
        clock: Clock | None = None,
        kill: Killer = sigkill,
        block_devices: LoopDevices | None = None,
    ) -> None:
        moto_state.install_patches()
        self.app = app
        self.lock = threading.RLock()
        self.clock = clock or Clock()
        self.timeline = Timeline()
        self.dice = FaultDice()
        self.calls = CallLog()
        self.hooks = CrashHooks(kill)
        self.block_devices = BlockDevices(block_devices)
        # Order matters for `after`: state first, error code mapping last.
        # DNS names before LoadBalancers (its create records keep the reply), NLB addresses
        # after LoadBalancerInterfaces (they go on the interfaces).
        self.behaviours: list[Behaviour] = [
            Volumes(), Attachments(), self.block_devices, SecurityGroups(), RegionalDnsNames(),
            LoadBalancers(), ClassicDescriptions(), LoadBalancerInterfaces(), NlbAddresses(),
            TargetHealth(), Elbv2Codes(), ListenerChanges(), InstanceAddresses(),
            InstanceTopology(), ErrorCodes(),
        ]
        self.control = ControlApi(self)
        self.config = FidelityConfig()
        self.set_config(config or FidelityConfig())

    # --- configuration and state, used by the control API ------------------------------------

    def set_config(self, config: FidelityConfig) -> FidelityConfig:
        with self.lock:
            if self.config.enabled and not config.enabled:
                self.settle()  # nothing may stay half-way once time stops being emulated
            self.config = config
            self.dice.reseed(config.seed)
            self.calls.resize(config.call_log_size)
            moto_state.rule_limit["owned"] = config.enabled and config.behaviours.rules_per_group
            return config

    def advance(self, seconds: float) -> int:
        """Move emulator time forward and run what came due; the number of steps run."""
        with self.lock:
            return self.timeline.run_due(self.clock.advance(seconds))

    def settle(self) -> int:
        """Finish every transition now (used when the layer is switched off)."""
        with self.lock:
            return self.timeline.run_due(float("inf"))

    def forget(self) -> None:
        """The emulator's state was wiped: drop every record that referred to it."""
        with self.lock:
            self.timeline.clear()
            for behaviour in self.behaviours:
                behaviour.reset()

    # --- WSGI --------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith(CONTROL_PREFIX):
            return _send(self.control.handle(environ), start_response)
        if path.startswith("/moto-api/"):
            with self.lock:
                reply = self._forward(environ)
                if path.rstrip("/") == "/moto-api/reset" and reply.ok:
                    self.forget()
            return _send(reply, start_response)
        if not self.config.enabled:
            return self.app(environ, start_response)
        try:
            body = read_body(environ)
        except TruncatedBody as exc:  # neither applied nor logged: the caller is gone
            log.info("dropped a truncated request to %s: %s", path or "/", exc)
            return _send(Reply(400, (("Content-Length", "0"),), b""), start_response)
        request = parse(environ, body)
        if not request.service:
            return self.app(environ, start_response)
        with self.lock:
            reply = self._handle(environ, request)
        return _send(reply, start_response)

    def _handle(self, environ: dict[str, Any], request: AwsRequest) -> Reply:
        arrived, started = time.time(), time.perf_counter()
        config, now = self.config, self.clock.now()
        self.timeline.run_due(now)
        backends = moto_state.Backends(moto_state.account_for(request, environ), request.region)
        call = Call(request, backends, config, now, self.timeline)
        try:
            reply, source, applied = self._answer(call, environ)
        except Exception as exc:  # a bug here must not look like an AWS answer
            log.exception("fidelity layer failed on %s", request.operation)
            refusal = Refusal("InternalError", f"fidelity layer: {exc}", 500)
            reply, source, applied = self._error(request, refusal), "fidelity", False
        if config.behaviours.call_log:
            self.calls.add(CallRecord(
                seq=self.calls.next_seq(), time=arrived, client=request.client,
                service=request.service, action=request.action, mutating=request.mutating,
                status=reply.status, error=error_code(reply), source=source, applied=applied,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                region=request.region,
            ))
        if applied and config.behaviours.crash_hooks:
            self.hooks.applied(request.client, request.operation)
        return reply

    def _answer(self, call: Call, environ: dict[str, Any]) -> tuple[Reply, str, bool]:
        """The answer, who gave it (emulator, fidelity, fault), and whether moto applied it."""
        request = call.request
        fault = self.dice.pick(request, call.config.faults) if call.config.faults else None
        if fault is not None and not fault.after_apply:
            return self._error(request, fault_refusal(request.service, fault)), "fault", False
        answer = self._before(call)
        if answer is not None:
            return answer, "fidelity", False
        reply = self._forward(environ)
        applied = request.mutating and reply.ok
        for behaviour in self.behaviours:
            reply = behaviour.after(call, reply)
        if fault is not None:
            return self._error(request, fault_refusal(request.service, fault)), "fault", applied
        return reply, "emulator", applied

    def _before(self, call: Call) -> Reply | None:
        for behaviour in self.behaviours:
            answer = behaviour.before(call)
            if isinstance(answer, Refusal):
                return self._error(call.request, answer)
            if isinstance(answer, Reply):
                return answer
        return None

    @staticmethod
    def _error(request: AwsRequest, refusal: Refusal) -> Reply:
        return error_reply(request.protocol, request.service, refusal)

    def _forward(self, environ: dict[str, Any]) -> Reply:
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return chunks.append

        try:
            result = self.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception as exc:  # the emulator's own bug; werkzeug would serve an HTML 500
            log.exception("the emulator failed")
            body = f"<html><body>emulator error: {type(exc).__name__}</body></html>".encode()
            return Reply(500, (("Content-Type", "text/html"),
                               ("Content-Length", str(len(body)))), body)
        status = int(str(captured.get("status", "500")).split()[0])
        return Reply(status, tuple(captured.get("headers", ())), b"".join(chunks))


def _send(reply: Reply, start_response: StartResponse) -> list[bytes]:
    start_response(reply.status_line, list(reply.headers))
    return [reply.body]
