"""ModifyListener on a Network LB as AWS does it: the ALPN policy changes too (moto reads
`AlpnPolicy` at CreateListener only). The TLS, UDP and TCP_UDP protocols moto refuses in
ModifyListener are taken by a patch (moto_state._modify_network_listeners)."""

from __future__ import annotations

from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.responses import Reply


class ListenerChanges(Behaviour):
    def after(self, call: Call, reply: Reply) -> Reply:
        request = call.request
        if (request.service != "elbv2" or request.action != "ModifyListener" or not reply.ok
                or not request.members("AlpnPolicy")):
            return reply
        arn = request.param("ListenerArn")
        for balancer in call.backends.elbv2.load_balancers.values():
            listener = balancer.listeners.get(arn)
            if listener is not None:
                listener.alpn_policy = request.members("AlpnPolicy")
        return reply
