"""HTTP answers in AWS's wire formats, and small edits of the emulator's answers.

EC2 errors are `<Response><Errors><Error>...</Errors><RequestID>`; the other query services
(ELB, ELBv2, IAM, STS) use `<ErrorResponse><Error><Type>...<RequestId>`; JSON services put
`__type` in a JSON body. botocore parses each by protocol, so an error the fidelity layer
raises is indistinguishable from one AWS sends.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, replace
from http import HTTPStatus
from xml.sax.saxutils import escape

_ELB_NAMESPACES = {
    "elb": "http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/",
    "elbv2": "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
}
_CODE = re.compile(rb"<Code>([^<]+)</Code>")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def status_line(self) -> str:
        try:
            return f"{self.status} {HTTPStatus(self.status).phrase}"
        except ValueError:
            return f"{self.status} Unknown"

    @property
    def ok(self) -> bool:
        return self.status < 300

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    def with_body(self, body: bytes) -> Reply:
        headers = tuple((k, v) for k, v in self.headers if k.lower() != "content-length")
        return replace(self, body=body, headers=(*headers, ("Content-Length", str(len(body)))))


@dataclass(frozen=True)
class Refusal:
    """An AWS error the fidelity layer answers instead of the emulator."""

    code: str
    message: str
    status: int = 400


def error_reply(protocol: str, service: str, refusal: Refusal) -> Reply:
    request_id = str(uuid.uuid4())
    headers: tuple[tuple[str, str], ...]
    code, message = escape(refusal.code), escape(refusal.message)
    if protocol == "json":
        body = json.dumps({"__type": refusal.code, "message": refusal.message}).encode()
        headers = (("Content-Type", "application/x-amz-json-1.1"),
                   ("x-amzn-ErrorType", refusal.code))
    elif protocol == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error>"
            f"</Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers = (("Content-Type", "text/xml;charset=UTF-8"),)
    else:
        namespace = _ELB_NAMESPACES.get(service, "")
        xmlns = f' xmlns="{namespace}"' if namespace else ""
        kind = "Receiver" if refusal.status >= 500 else "Sender"
        body = (
            f"<ErrorResponse{xmlns}><Error><Type>{kind}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        ).encode()
        headers = (("Content-Type", "text/xml"),)
    headers = (*headers, ("x-amzn-RequestId", request_id), ("Content-Length", str(len(body))))
    return Reply(refusal.status, headers, body)


def json_reply(data: object, status: int = 200) -> Reply:
    body = json.dumps(data, indent=1).encode() + b"\n"
    return Reply(status, (("Content-Type", "application/json"),
                          ("Content-Length", str(len(body)))), body)


def text_reply(text: str, status: int = 200, content_type: str = "text/plain") -> Reply:
    body = text.encode()
    return Reply(status, (("Content-Type", content_type), ("Content-Length", str(len(body)))),
                 body)


def error_code(reply: Reply) -> str | None:
    """The AWS error code of a failed answer ("" if the body carries none)."""
    if reply.ok:
        return None
    match = _CODE.search(reply.body)
    if match:
        return match.group(1).decode()
    if reply.body.startswith(b"{"):
        try:
            data = json.loads(reply.body)
        except ValueError:
            return ""
        return str(data.get("__type", "")) if isinstance(data, dict) else ""
    return ""


def is_aws_shaped(reply: Reply) -> bool:
    """False for the emulator's HTML error pages (an unhandled exception inside it)."""
    body = reply.body.lstrip()
    return body.startswith((b"<?xml", b"<Response", b"<ErrorResponse", b"{", b"<"))\
        and not body.lower().startswith((b"<!doctype html", b"<html"))


def set_text(body: bytes, tag: str, value: str, count: int = 1) -> bytes:
    """Replace the text of the first `count` `<tag>` elements."""
    pattern = re.compile(rb"(<" + tag.encode() + rb">)[^<]*(</" + tag.encode() + rb">)")
    return pattern.sub(lambda m: m.group(1) + escape(value).encode() + m.group(2), body, count)


def drop_element(body: bytes, tag: str) -> bytes:
    pattern = re.compile(rb"<" + tag.encode() + rb">[^<]*</" + tag.encode() + rb">")
    return pattern.sub(b"", body)
