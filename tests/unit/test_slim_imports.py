"""The controller's imports stay slim: the Kubernetes client's models and APIs load on use,
and a command loads only its own module (each check in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

from k8s_aws.cli.main import COMMANDS, cli
from k8s_aws.kube import slim


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_name_maps_come_from_the_packages_own_init() -> None:
    text = ("from kubernetes_asyncio.client.models.v1_lease import V1Lease\n"
            "from kubernetes_asyncio.client.api.core_v1_api import CoreV1Api\n# comment\n")
    assert slim.name_map(text) == {
        "V1Lease": "kubernetes_asyncio.client.models.v1_lease",
        "CoreV1Api": "kubernetes_asyncio.client.api.core_v1_api",
    }


def test_models_load_on_use_and_still_deserialize() -> None:
    out = run(
        "import sys, json\n"
        "import k8s_aws.kube.client\n"
        "from kubernetes_asyncio import client\n"
        "loaded = lambda: sum(m.startswith('kubernetes_asyncio.client.models.') "
        "for m in sys.modules)\n"
        "before = loaded()\n"
        "class R: data = json.dumps({'metadata': {'name': 'l'}, 'spec': {'holderIdentity': 'me'}})\n"
        "async def read():\n"
        "    async with client.ApiClient() as api:\n"
        "        return api.deserialize(R(), 'V1Lease')\n"
        "import asyncio\n"
        "lease = asyncio.run(read())\n"
        "print(before, loaded(), type(lease).__name__, lease.spec.holder_identity,"
        " client.CoreV1Api.__name__, 'kubernetes_asyncio.client.api.apps_v1_api' in sys.modules)\n"
    )
    before, after, kind, holder, api, apps_loaded = out.split()
    assert int(before) < 10  # of the 767 models
    assert int(after) > int(before)
    assert (kind, holder, api, apps_loaded) == ("V1Lease", "me", "CoreV1Api", "False")


def test_the_controller_manager_command_loads_no_grpc_and_no_sandbox() -> None:
    out = run(
        "import sys\n"
        "from k8s_aws.cli.main import cli\n"
        "cli.get_command(None, 'controller-manager')\n"
        "print(any(m.startswith('grpc') for m in sys.modules),"
        " 'k8s_aws_sandbox.up' in sys.modules, 'k8s_aws.cli.plan' in sys.modules)\n"
    )
    assert out == "False False False"


def test_every_command_is_listed_and_loads() -> None:
    """The product's own commands and the sandbox's, plugged in by its entry point."""
    assert cli.list_commands(None) == sorted([*COMMANDS, "sandbox"])  # type: ignore[arg-type]
    for name in [*COMMANDS, "sandbox"]:
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name
