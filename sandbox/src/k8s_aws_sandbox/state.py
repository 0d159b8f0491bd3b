"""The sandbox's record of itself (`DIR/sandbox.json`): endpoints, ports and the AWS world."""

from __future__ import annotations

import json
import ssl
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from k8s_aws_sandbox.world import World

STATE_FILE = "sandbox.json"


@dataclass
class SandboxState:
    dir: str
    cluster: str
    region: str
    apiserver_url: str
    emulator_url: str
    imds_url: str
    admin_token: str
    world: World
    controller_manager_url: str = ""
    etcd_url: str = ""
    # The sandbox's own AWS credentials (an administrator when IAM enforcement is on).
    access_key: str = "sandbox"
    secret_key: str = "sandbox"
    iam_enforced: bool = False
    csi_sidecars: list[str] = field(default_factory=list)  # started beside the CSI driver

    @property
    def root(self) -> Path:
        return Path(self.dir)

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def ca_cert(self) -> Path:
        return self.root / "pki" / "ca.crt"

    def save(self) -> None:
        data = asdict(self)
        data["world"] = self.world.to_json()
        (self.root / STATE_FILE).write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> SandboxState:
        data = json.loads((directory / STATE_FILE).read_text())
        data["world"] = World.from_json(data["world"])
        return cls(**data)

    def api_get(self, path: str, timeout: float = 5.0) -> Any:
        """GET a path of the API server as admin; JSON responses are decoded."""
        context = ssl.create_default_context(cafile=str(self.ca_cert))
        request = urllib.request.Request(
            self.apiserver_url + path, headers={"Authorization": f"Bearer {self.admin_token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            body = response.read().decode()
        return json.loads(body) if body.startswith("{") else body


def ready_nodes(state: SandboxState) -> tuple[list[str], int]:
    """Names of Nodes whose Ready condition is True, and the number of Nodes."""
    nodes = state.api_get("/api/v1/nodes")["items"]
    ready = [
        n["metadata"]["name"]
        for n in nodes
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in n.get("status", {}).get("conditions", [])
        )
    ]
    return ready, len(nodes)


def uninitialized_nodes(state: SandboxState) -> int:
    """How many Nodes still carry the cloud provider's uninitialized taint."""
    nodes = state.api_get("/api/v1/nodes")["items"]
    return sum(
        1
        for n in nodes
        if any(
            t.get("key") == "node.cloudprovider.kubernetes.io/uninitialized"
            for t in n.get("spec", {}).get("taints") or []
        )
    )
