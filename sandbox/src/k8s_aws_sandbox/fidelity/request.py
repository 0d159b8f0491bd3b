"""Who called which AWS operation with which parameters, read from a WSGI request.

EC2, Classic ELB, ELBv2, IAM and STS speak the query protocol (form fields `Action`,
`Version`, `Name.N` lists); JSON services name the operation in `X-Amz-Target`. The service
comes from the SigV4 credential scope; Classic ELB and ELBv2 share the scope
`elasticloadbalancing` and differ by API version.
"""

from __future__ import annotations

import io
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CONTROL_PREFIX = "/_k8s_aws/"
READ_ONLY_PREFIXES = ("Describe", "List", "Get")
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCESS_KEY = "AKIAEXAMPLE"  # what the emulator assumes for unsigned requests
_ELBV2_VERSION = "2015-12-01"
_APP_ID = re.compile(r"(?:^|\s)app/(\S+)")
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class AwsRequest:
    service: str  # ec2, elb, elbv2, iam, sts, ... ("" if not an AWS call)
    action: str
    params: Mapping[str, str]  # flattened query fields, e.g. "Filter.1.Name"
    client: str  # user-agent app id, else the access key id, else "unknown"
    access_key: str
    region: str
    protocol: str  # "ec2", "query", "json" or "rest"

    @property
    def operation(self) -> str:
        """`service:Action`, what fault patterns and the call log match on."""
        return f"{self.service}:{self.action}"

    @property
    def mutating(self) -> bool:
        return bool(self.service) and not self.action.startswith(READ_ONLY_PREFIXES)

    def param(self, name: str, default: str = "") -> str:
        return self.params.get(name, default)

    def members(self, prefix: str) -> list[str]:
        """Values of a query list, `Prefix.1`, `Prefix.2`... or `Prefix.member.N`."""
        pattern = re.compile(rf"^{re.escape(prefix)}(?:\.member)?\.(\d+)$")
        found = [(int(m.group(1)), v) for k, v in self.params.items() if (m := pattern.match(k))]
        return [value for _, value in sorted(found)]


class TruncatedBody(ValueError):
    """The client went away before sending the body it announced (killed mid-request).

    AWS never acts on such a request, and no one reads an answer to it: it is no call at all.
    """


def read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body once and put it back, so the emulator can read it again."""
    stream = environ.get("wsgi.input")
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if stream is None or length == 0:
        body = b""
    elif length > 0:
        body = stream.read(length)
        if len(body) < length:
            raise TruncatedBody(f"{len(body)} of the announced {length} bytes arrived")
    else:  # chunked: the server marks the stream as ending with the body
        body = stream.read() if environ.get("wsgi.input_terminated") else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def client_id(user_agent: str, access_key: str) -> str:
    """botocore's `user_agent_appid` (or AWS_SDK_UA_APP_ID) adds `app/<id>` to the agent."""
    match = _APP_ID.search(user_agent)
    if match:
        return match.group(1)
    return access_key or "unknown"


def parse(environ: Mapping[str, Any], body: bytes) -> AwsRequest:
    headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items()
               if k.startswith("HTTP_")}
    authorization = headers.get("authorization", "")
    credential = _CREDENTIAL.search(authorization)
    access_key = credential.group(1) if credential else ""
    region = credential.group(2) if credential else DEFAULT_REGION
    scope = credential.group(3) if credential else ""
    fields = _form_fields(environ, body)
    target = headers.get("x-amz-target", "")
    if "Action" in fields:
        action = fields["Action"]
        service = _query_service(scope, fields.get("Version", ""))
        protocol = "ec2" if service == "ec2" else "query"
    elif target:
        action = target.rsplit(".", 1)[-1]
        service = scope or target.split(".", 1)[0].lower()
        protocol = "json"
    else:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        action = f"{method} {environ.get('PATH_INFO', '/')}"
        service = scope
        protocol = "rest"
    return AwsRequest(
        service=service,
        action=action,
        params=fields,
        client=client_id(headers.get("user-agent", ""), access_key),
        access_key=access_key or DEFAULT_ACCESS_KEY,
        region=region,
        protocol=protocol,
    )


def _form_fields(environ: Mapping[str, Any], body: bytes) -> dict[str, str]:
    pairs = urllib.parse.parse_qsl(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if body and "x-www-form-urlencoded" in content_type:
        pairs += urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return dict(pairs)


def _query_service(scope: str, version: str) -> str:
    if scope == "elasticloadbalancing":
        return "elbv2" if version == _ELBV2_VERSION else "elb"
    if scope:
        return scope
    return {"2016-11-15": "ec2", "2012-06-01": "elb", _ELBV2_VERSION: "elbv2"}.get(version, "")
