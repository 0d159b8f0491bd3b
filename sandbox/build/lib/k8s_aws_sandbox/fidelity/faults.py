"""Injected failures: throttling and server errors at a chosen rate per operation pattern.

The dice are seeded (config `seed`), so a run with the same calls in the same order fails
the same calls. EC2 throttles with `RequestLimitExceeded` (HTTP 503), the load balancer APIs
with `Throttling` (HTTP 400); botocore's retry modes recognise both by code.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Sequence

from k8s_aws_sandbox.fidelity.config import FaultRule
from k8s_aws_sandbox.fidelity.request import AwsRequest
from k8s_aws_sandbox.fidelity.responses import Refusal


class FaultDice:
    def __init__(self, seed: int = 0) -> None:
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        self._random = random.Random(seed)

    def pick(self, request: AwsRequest, rules: Sequence[FaultRule]) -> FaultRule | None:
        """The first matching rule whose dice roll fails the call, if any."""
        for rule in rules:
            if not fnmatch.fnmatchcase(request.operation, rule.pattern):
                continue
            if not fnmatch.fnmatchcase(request.client, rule.clients):
                continue
            if rule.rate >= 1.0 or self._random.random() < rule.rate:
                return rule
        return None


def fault_refusal(service: str, rule: FaultRule) -> Refusal:
    if rule.kind == "throttle":
        if service == "ec2":
            return Refusal("RequestLimitExceeded", "Request limit exceeded.", 503)
        return Refusal("Throttling", "Rate exceeded", 400)
    status = rule.status or 500
    if service == "ec2":
        if status == 503:
            return Refusal("Unavailable", "The server is overloaded and can't handle the request.",
                           503)
        return Refusal("InternalError", "An internal error has occurred.", 500)
    if status == 503:
        return Refusal("ServiceUnavailable", "Service is unavailable.", 503)
    return Refusal("InternalFailure", "An internal error has occurred.", 500)
