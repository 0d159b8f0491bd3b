"""botocore's errors translated, once, into the few that callers act on."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

THROTTLING_CODES = frozenset(
    {"RequestLimitExceeded", "Throttling", "ThrottlingException", "TooManyRequestsException",
     "RequestThrottled", "SlowDown", "EC2ThrottledException"}
)
DENIED_CODES = frozenset(
    {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "AuthFailure",
     "InvalidClientTokenId", "SignatureDoesNotMatch"}
)
CONFLICT_CODES = frozenset(
    {"DependencyViolation", "IncorrectState", "VolumeInUse", "InvalidVolume.ZoneMismatch",
     "DuplicateLoadBalancerName", "InvalidPermission.Duplicate", "ResourceInUse",
     "IdempotentParameterMismatch"}
)


class CloudError(Exception):
    """Base of our AWS errors; `operation` and `code` say what failed and how."""

    def __init__(self, message: str, operation: str = "", code: str = "") -> None:
        super().__init__(message)
        self.operation = operation
        self.code = code


class NotFound(CloudError):
    """The resource does not exist (any `*.NotFound` / `*NotFound` code)."""


class Conflict(CloudError):
    """The resource is in a state that forbids the call now (retry later may work)."""


class Throttled(CloudError):
    """AWS rate-limited the call after botocore's own retries."""


class Denied(CloudError):
    """Credentials lack a permission; `action` names the IAM action to grant."""

    def __init__(self, message: str, operation: str, code: str, action: str) -> None:
        super().__init__(message, operation, code)
        self.action = action


class Invalid(CloudError):
    """The request was malformed or a parameter was refused; a retry will not help."""


class Unavailable(CloudError):
    """AWS or the network failed transiently (5xx, connection error)."""


class NotConfigured(CloudError):
    """Region or credentials are missing: the message says what to set."""


def iam_action(service: str, operation: str) -> str:
    prefix = {"elb": "elasticloadbalancing", "elbv2": "elasticloadbalancing"}.get(service, service)
    return f"{prefix}:{operation}"


def translate(exc: Exception, service: str, operation: str) -> CloudError:
    if isinstance(exc, CloudError):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = f"{operation}: {code}: {error.get('Message', '')}".rstrip(": ")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in THROTTLING_CODES:
            return Throttled(message, operation, code)
        if code in DENIED_CODES:
            action = iam_action(service, operation)
            return Denied(f"{message} (grant IAM action {action})", operation, code, action)
        if code.endswith("NotFound") or code.endswith(".NotFound") or code == "NoSuchEntity":
            return NotFound(message, operation, code)
        if code in CONFLICT_CODES:
            return Conflict(message, operation, code)
        if status >= 500 or code in ("InternalError", "ServiceUnavailable", "Unavailable"):
            return Unavailable(message, operation, code)
        return Invalid(message, operation, code)
    if isinstance(exc, NoRegionError):
        return NotConfigured("no AWS region: set --region, [Global] Region or run on EC2")
    if isinstance(exc, NoCredentialsError):
        return NotConfigured(
            "no AWS credentials: attach an instance profile (IMDS) or set AWS_* credentials"
        )
    if isinstance(exc, EndpointConnectionError | BotoCoreError | OSError):
        return Unavailable(f"{operation}: {exc}", operation)
    raise exc
