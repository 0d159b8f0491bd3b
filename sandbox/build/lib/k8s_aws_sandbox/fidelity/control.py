"""A typed client of the fidelity layer's control API, for tests and benchmarks (urllib only).

    control = FidelityControl("http://127.0.0.1:PORT")
    control.patch_config({"delays": {"volume_create": 5}, "behaviours": {"target_draining": False}})
    control.advance(5)                                  # skip emulator time ahead
    calls = control.calls(client="k8s-aws-csi-driver")  # what that client called, in order
    control.add_crash_hook("k8s-aws-controller-manager", after_mutations=3, pid=pid)
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from k8s_aws_sandbox.fidelity.calllog import CallRecord
from k8s_aws_sandbox.fidelity.config import FidelityConfig
from k8s_aws_sandbox.fidelity.crash import CrashHook
from k8s_aws_sandbox.fidelity.request import CONTROL_PREFIX


class ControlError(RuntimeError):
    """The control API refused a request; the message carries its reason."""


@dataclass(frozen=True)
class ClockState:
    now: float
    pending: list[tuple[float, str]]  # (due, what) of the state steps still to come


class FidelityControl:
    def __init__(self, endpoint: str, timeout: float = 10.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout

    # --- config ------------------------------------------------------------------------------

    def config(self) -> FidelityConfig:
        return FidelityConfig.from_json(self._json("GET", "config"))

    def set_config(self, config: FidelityConfig) -> FidelityConfig:
        return FidelityConfig.from_json(self._json("PUT", "config", config.to_json()))

    def patch_config(self, changes: Mapping[str, Any]) -> FidelityConfig:
        """Merge `changes` (nested objects merge, lists such as `faults` replace)."""
        return FidelityConfig.from_json(self._json("PATCH", "config", dict(changes)))

    def reset_config(self) -> FidelityConfig:
        return FidelityConfig.from_json(self._json("PUT", "config", {}))

    # --- call log ----------------------------------------------------------------------------

    def calls(self, client: str | None = None, since: int = 0) -> list[CallRecord]:
        query = {"since": str(since), **({"client": client} if client is not None else {})}
        text = self._request("GET", "calls?" + urllib.parse.urlencode(query)).decode()
        return [CallRecord(**json.loads(line)) for line in text.splitlines() if line]

    def clear_calls(self) -> None:
        self._request("DELETE", "calls")

    # --- crash hooks -------------------------------------------------------------------------

    def add_crash_hook(self, client: str, after_mutations: int, pid: int) -> CrashHook:
        data = self._json("POST", "crash-hooks",
                          {"client": client, "after_mutations": after_mutations, "pid": pid})
        return CrashHook(**data)

    def crash_hooks(self) -> list[CrashHook]:
        return [CrashHook(**hook) for hook in self._json("GET", "crash-hooks")]

    def clear_crash_hooks(self) -> None:
        self._request("DELETE", "crash-hooks")

    # --- time and the emulator ---------------------------------------------------------------

    def clock(self) -> ClockState:
        data = self._json("GET", "clock")
        return ClockState(data["now"], [(due, what) for due, what in data["pending"]])

    def advance(self, seconds: float) -> int:
        """Skip emulator time ahead; returns how many state steps came due and ran."""
        return int(self._json("POST", "clock", {"advance": seconds})["ran"])

    # --- block devices -----------------------------------------------------------------------

    def block_devices(self) -> dict[str, Any]:
        """{"instances": [...], "attached": {volume id: /dev/loopN}, "dir": ...}."""
        answer: dict[str, Any] = self._json("GET", "block-devices")
        return answer

    def set_block_device_instances(self, instances: list[str]) -> dict[str, Any]:
        answer: dict[str, Any] = self._json("PUT", "block-devices", {"instances": instances})
        return answer

    def reset_emulator(self) -> None:
        """Wipe the emulated AWS account (and the layer's records of it); config stays."""
        self._request("POST", "/moto-api/reset")

    # --- plumbing ----------------------------------------------------------------------------

    def _json(self, method: str, path: str, payload: Any = None) -> Any:
        return json.loads(self._request(method, path, payload))

    def _request(self, method: str, path: str, payload: Any = None) -> bytes:
        url = self.endpoint + (path if path.startswith("/") else CONTROL_PREFIX + path)
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as err:
            raise ControlError(f"{method} {url}: {err.code} {err.read().decode()}") from None
