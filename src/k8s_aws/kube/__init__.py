"""The Kubernetes boundary: the only product package that imports the Kubernetes client."""

from k8s_aws.kube import slim

# Before any module of this package imports the client: load its models and APIs on use.
slim.install()
