"""Static-token identities for the sandbox's API server and the kubeconfigs that use them."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Identity:
    """One user of the API server: a name, its groups and a bearer token."""

    user: str
    groups: tuple[str, ...]
    token: str


ADMIN_GROUPS = ("system:masters",)


def new_identity(user: str, groups: tuple[str, ...] = ()) -> Identity:
    return Identity(user=user, groups=groups, token=secrets.token_hex(24))


def token_auth_csv(identities: list[Identity]) -> str:
    """The `--token-auth-file` format: token,user,uid,"group1,group2"."""
    rows = []
    for i, ident in enumerate(identities):
        groups = ",".join(ident.groups)
        rows.append(f'{ident.token},{ident.user},uid-{i},"{groups}"')
    return "\n".join(rows) + "\n"


def kubeconfig_text(server: str, ca_pem: bytes, identity: Identity, context: str) -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": context,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": identity.user, "user": {"token": identity.token}}],
        "contexts": [
            {"name": context, "context": {"cluster": context, "user": identity.user}}
        ],
        "current-context": context,
    }
    return yaml.safe_dump(doc, sort_keys=False)


def write_kubeconfig(
    path: Path, server: str, ca_cert: Path, identity: Identity, context: str
) -> Path:
    path.write_text(kubeconfig_text(server, ca_cert.read_bytes(), identity, context))
    path.chmod(0o600)
    return path
