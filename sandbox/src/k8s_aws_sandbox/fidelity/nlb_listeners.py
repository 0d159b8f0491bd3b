"""ELBv2 listeners as AWS keeps them.

- ModifyListener on a Network LB changes the ALPN policy too (moto reads `AlpnPolicy` at
  CreateListener only). The TLS, UDP and TCP_UDP protocols moto refuses in ModifyListener are
  taken by a patch (moto_state._modify_network_listeners).
- A listener that does not terminate TLS (TCP, UDP, TCP_UDP, HTTP) has no security policy:
  moto gives every new listener `ELBSecurityPolicy-2016-08`, and a controller comparing the
  policy it wants (none) with that one would modify the listener at every sync.
"""

from __future__ import annotations

import re
from typing import Any

from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.responses import Reply

TLS_PROTOCOLS = frozenset({"TLS", "HTTPS"})
_SSL_POLICY = re.compile(rb"\s*<SslPolicy>[^<]*</SslPolicy>")


class ListenerChanges(Behaviour):
    def after(self, call: Call, reply: Reply) -> Reply:
        request = call.request
        if (request.service != "elbv2" or not reply.ok
                or request.action not in ("CreateListener", "ModifyListener")):
            return reply
        listener = self._listener(call, reply)
        if listener is None:
            return reply
        if request.action == "ModifyListener" and request.members("AlpnPolicy"):
            listener.alpn_policy = request.members("AlpnPolicy")
        if str(listener.protocol).upper() not in TLS_PROTOCOLS:
            listener.ssl_policy = None
            return reply.with_body(_SSL_POLICY.sub(b"", reply.body))
        return reply

    @staticmethod
    def _listener(call: Call, reply: Reply) -> Any:
        arn = call.request.param("ListenerArn")
        if not arn:  # CreateListener: the new listener's ARN is in the answer
            found = re.search(rb"<ListenerArn>([^<]+)</ListenerArn>", reply.body)
            arn = found.group(1).decode() if found else ""
        for balancer in call.backends.elbv2.load_balancers.values():
            if arn in balancer.listeners:
                return balancer.listeners[arn]  # moto's FakeListener
        return None
