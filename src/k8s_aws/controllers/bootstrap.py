"""Where the controller manager runs: region and cluster name from flags, the cloud config,
or (on EC2) the instance metadata service and the instance's own tags."""

from __future__ import annotations

from dataclasses import dataclass, replace

from k8s_aws.cloud.errors import CloudError, NotConfigured
from k8s_aws.cloud.instances import read_instance
from k8s_aws.cloud.metadata import LocalInstance, read_local_instance, use_metadata_endpoint
from k8s_aws.cloud.session import AwsClients, AwsSettings
from k8s_aws.config.cloudconfig import METADATA_SERVICE, CloudConfig
from k8s_aws.config.cluster import AmbiguousCluster, cluster_name_from_tags
from k8s_aws.model.instance import InstanceId


@dataclass(frozen=True)
class Placement:
    region: str
    cluster_name: str


def resolve_placement(
    region_flag: str, cluster_flag: str, cloud_config: CloudConfig, aws_settings: AwsSettings
) -> Placement:
    """Flags win, then the cloud config, then IMDS; NotConfigured names what is missing."""
    region = region_flag or cloud_config.region
    cluster = cluster_flag or cloud_config.cluster_name
    if region and cluster:
        return Placement(region, cluster)
    try:
        local: LocalInstance = read_local_instance()
    except NotConfigured as exc:
        missing = [
            what for what, value in (
                ("--region (or [Global] Region)", region),
                ("--cluster-name (or [Global] KubernetesClusterID)", cluster),
            ) if not value
        ]
        raise NotConfigured(f"{' and '.join(missing)} not set, and {exc}") from None
    region = region or local.region
    if not cluster:
        cluster = _cluster_from_own_tags(local, AwsClients(replace(aws_settings, region=region)))
    return Placement(region, cluster)


def _cluster_from_own_tags(local: LocalInstance, aws: AwsClients) -> str:
    try:
        instance = read_instance(aws.client("ec2"), InstanceId(local.instance_id))
    except CloudError as error:
        raise NotConfigured(
            f"--cluster-name not set and this instance's tags could not be read: {error}"
        ) from None
    try:
        name = cluster_name_from_tags(instance.tags) if instance else None
    except AmbiguousCluster as exc:
        raise NotConfigured(str(exc)) from None
    if not name:
        raise NotConfigured(
            f"--cluster-name not set and instance {local.instance_id} has no "
            "kubernetes.io/cluster/<name> tag"
        )
    return name


def resolve_aws(
    region_flag: str, cluster_flag: str, config: CloudConfig, app_id: str
) -> tuple[Placement, AwsSettings]:
    """Placement and the AWS settings every command uses: region, app id, the cloud
    config's RoleARN and its [ServiceOverride] endpoints for that region (IMDS's for any)."""
    metadata = config.override_for(METADATA_SERVICE, "")
    if metadata is not None:
        use_metadata_endpoint(metadata.url)
    base = AwsSettings(
        region=region_flag or config.region or "us-east-1",
        app_id=app_id,
        role_arn=config.role_arn,
        source_arn=config.source_arn,
    )
    placement = resolve_placement(region_flag, cluster_flag, config, base)
    endpoints = config.endpoints(placement.region)
    return placement, replace(base, region=placement.region, endpoints=endpoints)
