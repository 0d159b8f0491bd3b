"""What `k8s-aws deploy manifests` renders from, checked before anything is rendered: an image
reference a container runtime would refuse, or a namespace the API server would, fails here
with one line naming the flag instead of as a pod stuck in ErrImagePull on every node.

Image references follow the OCI distribution grammar (distribution/reference): an optional
registry host (a name with a `.` or a `:port`, `localhost`, an IPv4 or a bracketed IPv6
address), lower-case path components joined by `.`, `_`, `__` or dashes, then a tag and/or a
digest. The cluster name is the release's and is checked where that rule lives (ops).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from k8s_aws.deploy.csi_sidecars import REGISTRAR_IMAGE

DEFAULT_NAMESPACE = "kube-system"
DEFAULT_KUBELET_DIR = "/var/lib/kubelet"  # the release's kubelet sets no --root-dir
MAX_CSI_REPLICAS = 10

_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_COMPONENT}(?:\.{_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})"
_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_REMAINDER = re.compile(rf"^(?P<path>{_PATH})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$")
MAX_NAME = 255
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_ABSOLUTE_PATH = re.compile(r"^/[A-Za-z0-9._/-]*$")


class DeployInputError(ValueError):
    """Bad input for the manifests; the message names the flag and what is allowed."""


def _is_domain(first: str) -> bool:
    # As the grammar's parsers decide: otherwise `library/nginx` would be a registry.
    return "." in first or ":" in first or first == "localhost" or first.startswith("[")


def check_image(flag: str, ref: str) -> str:
    """`ref` if it is an OCI image reference, else DeployInputError naming `flag`."""
    first, slash, rest = ref.partition("/")
    domain, remainder = (first, rest) if slash and _is_domain(first) else ("", ref)
    match = _REMAINDER.match(remainder)
    if not match or (domain and not _DOMAIN_RE.match(domain)):
        raise DeployInputError(
            f"{flag} {ref!r} is not an image reference: [REGISTRY[:PORT]/]PATH[:TAG]"
            "[@sha256:<64 hex>], PATH in lower-case letters and digits with ._- between"
        )
    name = f"{domain}/{match['path']}" if domain else match["path"]
    if len(name) > MAX_NAME:
        raise DeployInputError(f"{flag}: the repository name is longer than {MAX_NAME}")
    return ref


def check_namespace(namespace: str) -> str:
    if not _LABEL.match(namespace):
        raise DeployInputError(
            f"--namespace {namespace!r} is not a namespace name: at most 63 lower-case "
            "letters, digits and -, starting and ending with a letter or digit"
        )
    return namespace


@dataclass(frozen=True)
class DeploySettings:
    """Everything the manifests depend on; `cluster` is checked by the caller (ops)."""

    image: str
    cluster: str
    namespace: str = DEFAULT_NAMESPACE
    registrar_image: str = REGISTRAR_IMAGE
    csi_replicas: int = 2
    kubelet_dir: str = DEFAULT_KUBELET_DIR

    def checked(self) -> DeploySettings:
        check_image("--image", self.image)
        check_image("--registrar-image", self.registrar_image)
        check_namespace(self.namespace)
        if not 1 <= self.csi_replicas <= MAX_CSI_REPLICAS:
            raise DeployInputError(
                f"--csi-replicas {self.csi_replicas} is out of range: 1 to {MAX_CSI_REPLICAS}"
            )
        if not _ABSOLUTE_PATH.match(self.kubelet_dir) or "/../" in f"{self.kubelet_dir}/":
            raise DeployInputError(
                f"--kubelet-dir {self.kubelet_dir!r} is not an absolute path"
            )
        return self
