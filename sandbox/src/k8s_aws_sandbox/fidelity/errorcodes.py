"""AWS's error codes where the emulator answers differently.

- EC2 denies an IAM action with `UnauthorizedOperation` (HTTP 403); the emulator, with its
  IAM enforcement on, says `AccessDenied` as other services do.
- An unhandled exception inside the emulator (an unsupported filter, a missing optional
  parameter) becomes an HTML page with HTTP 500, which botocore cannot parse and retries as
  transient. AWS rejects an unknown filter with `InvalidParameterValue` (HTTP 400); any other
  crash becomes an AWS-shaped `InternalError`, so callers see an error they can handle.
(DetachVolume of a volume that is not attached: see attachments.py, IncorrectState.)
"""

from __future__ import annotations

import re
from xml.sax.saxutils import unescape

from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.responses import (
    Refusal,
    Reply,
    error_code,
    error_reply,
    is_aws_shaped,
)

_FILTER = re.compile(r"^Filters?\.\d+\.Name$")
_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>")


class ErrorCodes(Behaviour):
    def after(self, call: Call, reply: Reply) -> Reply:
        if reply.ok or not call.on.error_codes:
            return reply
        request = call.request
        if reply.status >= 500 and not is_aws_shaped(reply):
            filters = sorted(v for k, v in request.params.items() if _FILTER.match(k))
            if filters:
                refusal = Refusal(
                    "InvalidParameterValue",
                    f"The filter set {filters} is invalid or not supported by the emulator",
                )
            elif request.service == "ec2":
                refusal = Refusal("InternalError", "An internal error has occurred.", 500)
            else:
                refusal = Refusal("InternalFailure", "An internal error has occurred.", 500)
            return error_reply(request.protocol, request.service, refusal)
        if request.service == "ec2" and error_code(reply) == "AccessDenied":
            match = _MESSAGE.search(reply.body)
            message = (unescape(match.group(1).decode()) if match
                       else "You are not authorized to perform this operation.")
            return error_reply(request.protocol, request.service,
                               Refusal("UnauthorizedOperation", message, 403))
        return reply
