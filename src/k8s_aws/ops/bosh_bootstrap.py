"""k8s-aws's manifests in the release's `bootstrap` property (control job): its post-deploy
`kubectl apply`s that one YAML string on the bootstrap VM after every deploy.

An ops `replace` of `bootstrap` replaces whatever the operator set there (an ops file of
theirs, like the release's own operators/tinynetes/bootstrap.yml, or their manifest), so the
value is the operator's own bootstrap followed by ours. Never clobbering: when theirs already
holds an object ours would apply (same kind, namespace and name), the later apply would
silently overwrite it, so that is refused, naming the objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from k8s_aws.deploy import render
from k8s_aws.deploy.inputs import DeploySettings
from k8s_aws.ops.iam_policy import PolicyInputError

Key = tuple[str, str, str]  # kind, namespace ("" when cluster-scoped), name
# The cluster-scoped kinds among ours: a namespace on theirs of these kinds means nothing.
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding", "CSIDriver",
                            "StorageClass"})
SHOWN = 4


def _items(doc: Any) -> Iterator[Any]:
    if isinstance(doc, dict) and doc.get("kind") == "List":
        yield from doc.get("items") or []
    elif doc is not None:
        yield doc


def key_of(doc: Any, where: str) -> Key:
    """Where kubectl apply puts `doc` (no namespace: `default`, as post-deploy's kubectl)."""
    metadata = doc.get("metadata") if isinstance(doc, dict) else None
    if not isinstance(metadata, dict) or not doc.get("kind") or not metadata.get("name"):
        raise PolicyInputError(f"{where}: a document is not a Kubernetes object "
                               "(kind and metadata.name)")
    kind = str(doc["kind"])
    namespace = "" if kind in CLUSTER_SCOPED else str(metadata.get("namespace") or "default")
    return kind, namespace, str(metadata["name"])


def keys(text: str, where: str) -> list[Key]:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PolicyInputError(f"{where}: cannot read it as YAML: {first}") from None
    return [key_of(item, where) for doc in docs for item in _items(doc)]


def _name(key: Key) -> str:
    kind, namespace, name = key
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def check_manifest(manifest: dict[str, Any], control_group: str, given: bool) -> None:
    """A manifest whose control job sets `bootstrap` itself, with no --bootstrap: our op
    would replace that value, so refuse and say what to pass."""
    groups = [g for g in manifest.get("instance_groups") or [] if g.get("name") == control_group]
    jobs = [j for g in groups for j in g.get("jobs") or [] if j.get("name") == "control"]
    if not given and any((j.get("properties") or {}).get("bootstrap") for j in jobs):
        raise PolicyInputError(
            f"--manifest: its control job (group {control_group}) sets bootstrap, which this "
            "ops file replaces: pass that value as --bootstrap FILE to keep it"
        )


def merged(theirs: str, settings: DeploySettings, where: str = "--bootstrap") -> str:
    """The operator's bootstrap text, unchanged, then our rendered manifests; or
    PolicyInputError naming the objects both would apply."""
    ours = render.render(settings)
    clash = [k for k in keys(theirs, where) if k in set(keys(ours, "k8s-aws"))]
    if clash:
        shown = ", ".join(_name(k) for k in clash[:SHOWN])
        more = f" and {len(clash) - SHOWN} more" if len(clash) > SHOWN else ""
        raise PolicyInputError(
            f"{where} already holds {shown}{more}, which k8s-aws's manifests would overwrite: "
            "remove them (or an earlier k8s-aws rendering) from it"
        )
    if not theirs.strip():
        return ours
    return theirs.rstrip("\n") + "\n" + ours
