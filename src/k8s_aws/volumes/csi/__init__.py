"""The CSI gRPC servers (Identity, Controller, Node) of the EBS driver; the only place that
imports grpc. Stubs come from csi.proto at build time (`make csi-stubs`)."""
