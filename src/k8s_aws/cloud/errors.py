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
# The credentials themselves refused (unknown key, bad signature, expired or future-dated
# request): granting an IAM action would not help.
CREDENTIAL_CODES = frozenset(
    {"InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
     "RequestExpired", "UnrecognizedClientException", "AuthFailure"}
)
DENIED_CODES = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"})
ALREADY_EXISTS_CODES = frozenset(
    {"InvalidGroup.Duplicate", "InvalidPermission.Duplicate", "DuplicatePolicyName",
     "DuplicateLoadBalancerName"}
)
IN_USE_CODES = frozenset({"DependencyViolation", "ResourceInUse", "VolumeInUse"})
WRONG_STATE_CODES = frozenset({"IncorrectState", "IncorrectModificationState"})
LIMIT_CODES = frozenset({"AttachmentLimitExceeded", "VolumeLimitExceeded"})
RATE_WINDOW_CODES = frozenset({"VolumeModificationRateExceeded"})
CONFLICT_CODES = frozenset({"InvalidVolume.ZoneMismatch"})


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


class AlreadyExists(Conflict):
    """A create or an add found its resource, rule or policy there already."""


class InUse(Conflict):
    """The resource is still used (attached volume, referenced group, busy target group)."""


class TokenReused(Conflict):
    """The client token was used before with other parameters (IdempotentParameterMismatch)."""


class WrongState(Conflict):
    """The resource is mid-change (a modification still in progress, say)."""


class LimitExceeded(CloudError):
    """A per-resource limit is reached (attachments of an instance); freeing one helps."""


class RateWindowExceeded(CloudError):
    """AWS refuses the change for hours (one EBS modification per volume in six hours)."""


class CredentialsRejected(CloudError):
    """AWS refused the credentials themselves; no IAM grant helps, new credentials do."""


class Denied(CloudError):
    """Credentials lack a permission; `action` names the IAM action to grant."""

    def __init__(self, message: str, operation: str, code: str, action: str) -> None:
        super().__init__(message, operation, code)
        self.action = action


class Invalid(CloudError):
    """The request was malformed or a parameter was refused; a retry will not help."""


class DeviceInUse(Invalid):
    """AttachVolume refused the device name: the instance holds it already (an attachment
    made outside the driver, or one our cached view of the instance has not seen)."""


class Unavailable(CloudError):
    """AWS or the network failed transiently (5xx, connection error)."""


class NotConfigured(CloudError):
    """Region or credentials are missing: the message says what to set."""


def iam_action(service: str, operation: str) -> str:
    prefix = {"elb": "elasticloadbalancing", "elbv2": "elasticloadbalancing"}.get(service, service)
    return f"{prefix}:{operation}"


_KIND_BY_CODE: dict[str, type[CloudError]] = {
    code: kind
    for codes, kind in (
        (ALREADY_EXISTS_CODES, AlreadyExists), (IN_USE_CODES, InUse),
        (frozenset({"IdempotentParameterMismatch"}), TokenReused),
        (WRONG_STATE_CODES, WrongState), (LIMIT_CODES, LimitExceeded),
        (RATE_WINDOW_CODES, RateWindowExceeded), (CONFLICT_CODES, Conflict),
    )
    for code in codes
}


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
        if code in CREDENTIAL_CODES:
            return CredentialsRejected(f"credentials rejected: {message}", operation, code)
        if code in DENIED_CODES:
            action = iam_action(service, operation)
            return Denied(f"{message} (grant IAM action {action})", operation, code, action)
        if code.endswith("NotFound") or code.endswith(".NotFound") or code == "NoSuchEntity":
            return NotFound(message, operation, code)
        if operation == "AttachVolume" and code == "InvalidParameterValue" and (
                "already in use" in str(error.get("Message", ""))):
            return DeviceInUse(message, operation, code)
        kind = _KIND_BY_CODE.get(code)
        if kind is not None:
            return kind(message, operation, code)
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
