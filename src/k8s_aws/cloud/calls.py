"""Every AWS call counted once, here: Prometheus metrics by service, operation and outcome,
and an optional call log (JSON lines) that benchmarks and the IAM coverage test read."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from botocore.client import BaseClient
from prometheus_client import CollectorRegistry, Counter, Histogram

from k8s_aws.cloud.errors import THROTTLING_CODES


class CallRecorder:
    def __init__(self, registry: CollectorRegistry, call_log: Path | None = None) -> None:
        self.calls = Counter(
            "k8s_aws_aws_api_calls_total",
            "AWS API calls, after botocore's retries, by outcome (success or the error code).",
            ["service", "operation", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "k8s_aws_aws_api_call_duration_seconds",
            "Duration of AWS API calls, retries included.",
            ["service", "operation"],
            registry=registry,
        )
        self.throttled = Counter(
            "k8s_aws_aws_api_throttled_attempts_total",
            "Attempts that AWS throttled (botocore retried or gave up).",
            ["service", "operation"],
            registry=registry,
        )
        self._log_path = call_log
        self._lock = threading.Lock()
        self._started = threading.local()

    def attach(self, client: BaseClient, service: str) -> None:
        """Count the calls of one boto3 client (its own event system: no cross-talk)."""
        events = client.meta.events
        events.register("before-call", self._before)
        events.register("after-call", lambda **kw: self._after(service, **kw))
        events.register("after-call-error", lambda **kw: self._after_error(service, **kw))
        events.register("needs-retry", lambda **kw: self._retry(service, **kw))

    def _before(self, **_: Any) -> None:
        self._started.value = time.monotonic()

    def _record(self, service: str, operation: str, outcome: str) -> None:
        elapsed = time.monotonic() - getattr(self._started, "value", time.monotonic())
        self.calls.labels(service, operation, outcome).inc()
        self.duration.labels(service, operation).observe(elapsed)
        if self._log_path is not None:
            line = json.dumps(
                {"ts": round(time.time(), 3), "service": service, "operation": operation,
                 "outcome": outcome, "ms": round(elapsed * 1000, 1)}
            )
            with self._lock, open(self._log_path, "a") as log:
                log.write(line + "\n")

    def _after(self, service: str, event_name: str, parsed: dict[str, Any], **_: Any) -> None:
        code = parsed.get("Error", {}).get("Code")
        self._record(service, _operation(event_name), str(code) if code else "success")

    def _after_error(self, service: str, event_name: str, exception: Exception, **_: Any) -> None:
        self._record(service, _operation(event_name), type(exception).__name__)

    def _retry(self, service: str, event_name: str, response: Any = None, **_: Any) -> None:
        if not response or not isinstance(response[1], dict):
            return
        if response[1].get("Error", {}).get("Code") in THROTTLING_CODES:
            self.throttled.labels(service, _operation(event_name)).inc()


def _operation(event_name: str) -> str:
    """`after-call.ec2.DescribeInstances` -> `DescribeInstances`."""
    return event_name.rsplit(".", 1)[-1]
