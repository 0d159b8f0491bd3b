"""The control API, served by the emulator under `/_k8s_aws/` (no AWS path starts so).

  GET    /_k8s_aws/config              the fidelity config (JSON)
  PUT    /_k8s_aws/config              replace it (keys left out take their defaults)
  PATCH  /_k8s_aws/config              merge changes into it
  GET    /_k8s_aws/calls?client=&since= the call log, JSON lines, oldest first
  DELETE /_k8s_aws/calls               clear the call log
  GET    /_k8s_aws/crash-hooks         crash hooks and their status
  POST   /_k8s_aws/crash-hooks         {"client", "after_mutations", "pid"}: add one
  DELETE /_k8s_aws/crash-hooks         remove all
  GET    /_k8s_aws/clock               emulator time and the pending state steps
  POST   /_k8s_aws/clock               {"advance": seconds}: skip time ahead
  GET    /_k8s_aws/block-devices       instances whose attachments become loop devices
  PUT    /_k8s_aws/block-devices       {"instances": [ids]}: set them (needs --block-device-dir)
"""

from __future__ import annotations

import json
import urllib.parse
from typing import TYPE_CHECKING, Any

from k8s_aws_sandbox.fidelity.calllog import to_json_lines
from k8s_aws_sandbox.fidelity.config import ConfigError, FidelityConfig
from k8s_aws_sandbox.fidelity.request import CONTROL_PREFIX, read_body
from k8s_aws_sandbox.fidelity.responses import Reply, json_reply, text_reply

if TYPE_CHECKING:
    from k8s_aws_sandbox.fidelity.middleware import FidelityMiddleware


class BadRequest(ValueError):
    """A control request that cannot be served; the message says why."""


class ControlApi:
    def __init__(self, layer: FidelityMiddleware) -> None:
        self.layer = layer

    def handle(self, environ: dict[str, Any]) -> Reply:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        resource = str(environ.get("PATH_INFO", ""))[len(CONTROL_PREFIX):].strip("/")
        query = dict(urllib.parse.parse_qsl(str(environ.get("QUERY_STRING", ""))))
        route = getattr(self, f"_{method.lower()}_{resource.replace('-', '_')}", None)
        if route is None:
            return json_reply({"error": f"no route {method} {CONTROL_PREFIX}{resource}",
                               "routes": __doc__}, 404)
        try:
            body = read_body(environ)
            data = json.loads(body) if body.strip() else {}
            reply: Reply = route(data, query)
            return reply
        except (BadRequest, ConfigError, ValueError, TypeError) as exc:
            return json_reply({"error": str(exc)}, 400)

    def _get_config(self, data: Any, query: dict[str, str]) -> Reply:
        return json_reply(self.layer.config.to_json())

    def _put_config(self, data: Any, query: dict[str, str]) -> Reply:
        config = self.layer.set_config(FidelityConfig.from_json(_object(data)))
        return json_reply(config.to_json())

    def _patch_config(self, data: Any, query: dict[str, str]) -> Reply:
        with self.layer.lock:
            config = self.layer.set_config(self.layer.config.merged(_object(data)))
        return json_reply(config.to_json())

    def _get_calls(self, data: Any, query: dict[str, str]) -> Reply:
        with self.layer.lock:
            records = self.layer.calls.select(query.get("client"), int(query.get("since", 0)))
        return text_reply(to_json_lines(records), content_type="application/x-ndjson")

    def _delete_calls(self, data: Any, query: dict[str, str]) -> Reply:
        with self.layer.lock:
            self.layer.calls.clear()
        return json_reply({"cleared": True})

    def _get_crash_hooks(self, data: Any, query: dict[str, str]) -> Reply:
        with self.layer.lock:
            return json_reply([hook.to_json() for hook in self.layer.hooks.hooks()])

    def _post_crash_hooks(self, data: Any, query: dict[str, str]) -> Reply:
        spec = _object(data)
        unknown = set(spec) - {"client", "after_mutations", "pid"}
        if unknown or not isinstance(spec.get("client"), str):
            raise BadRequest('expected {"client": str, "after_mutations": int, "pid": int}')
        with self.layer.lock:
            hook = self.layer.hooks.add(spec["client"], _int(spec, "after_mutations"),
                                        _int(spec, "pid"))
        return json_reply(hook.to_json(), 201)

    def _delete_crash_hooks(self, data: Any, query: dict[str, str]) -> Reply:
        with self.layer.lock:
            self.layer.hooks.clear()
        return json_reply({"cleared": True})

    def _get_clock(self, data: Any, query: dict[str, str]) -> Reply:
        with self.layer.lock:
            return json_reply({"now": self.layer.clock.now(),
                               "pending": self.layer.timeline.pending()})

    def _post_clock(self, data: Any, query: dict[str, str]) -> Reply:
        seconds = _object(data).get("advance")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise BadRequest('expected {"advance": seconds >= 0}')
        ran = self.layer.advance(float(seconds))
        return json_reply({"now": self.layer.clock.now(), "ran": ran})


    def _get_block_devices(self, data: Any, query: dict[str, str]) -> Reply:
        devices = self.layer.block_devices
        with self.layer.lock:
            return json_reply({"instances": sorted(devices.instances),
                               "attached": devices.devices.attached() if devices.devices else {},
                               "dir": str(devices.devices.root) if devices.devices else None})

    def _put_block_devices(self, data: Any, query: dict[str, str]) -> Reply:
        instances = _object(data).get("instances")
        if not isinstance(instances, list) or not all(isinstance(i, str) for i in instances):
            raise BadRequest('expected {"instances": [instance ids]}')
        devices = self.layer.block_devices
        if devices.devices is None:
            raise BadRequest("the emulator was started without --block-device-dir")
        with self.layer.lock:
            devices.instances = set(instances)
        return self._get_block_devices({}, query)


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object")
    return data


def _int(spec: dict[str, Any], key: str) -> int:
    value = spec.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key}: expected an integer")
    return value
