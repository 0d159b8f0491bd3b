"""What every behaviour module sees of a call, and the two hooks it may implement."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from k8s_aws_sandbox.fidelity.config import Behaviours, FidelityConfig
from k8s_aws_sandbox.fidelity.moto_state import Backends
from k8s_aws_sandbox.fidelity.request import AwsRequest
from k8s_aws_sandbox.fidelity.responses import Refusal, Reply
from k8s_aws_sandbox.fidelity.timeline import Step, Timeline


@dataclass
class Call:
    request: AwsRequest
    backends: Backends
    config: FidelityConfig
    now: float
    timeline: Timeline
    notes: dict[str, Any] = field(default_factory=dict)  # from `before` to `after`

    @property
    def on(self) -> Behaviours:
        return self.config.behaviours

    @property
    def scope(self) -> tuple[str, str]:
        """Resource names are unique per account and region, so records are keyed on both."""
        return (self.backends.account, self.backends.region)

    def later(self, delay: float, step: Step, what: str) -> None:
        """Run `step` once `delay` seconds have passed (at once if the delay is 0)."""
        if delay <= 0:
            step()
        else:
            self.timeline.at(self.now + delay, step, what)


class Behaviour:
    """A group of AWS behaviours around the emulator; every hook is optional."""

    def before(self, call: Call) -> Refusal | Reply | None:
        """Refuse the call (an AWS error) or answer it (a replay) before the emulator sees it."""
        return None

    def after(self, call: Call, reply: Reply) -> Reply:
        """Adjust the emulator's state and answer after it carried the call out."""
        return reply

    def reset(self) -> None:
        """Forget every record: the emulator's state was wiped."""
