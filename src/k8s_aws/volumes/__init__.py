"""Pure planning for EBS volumes: StorageClass parameters, sizes and limits, device names,
tags, topology. No boto3, grpc or Kubernetes client here."""
