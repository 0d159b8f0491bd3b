"""The k8s-aws sandbox: a whole cluster on one machine (a real control plane built from its Go
modules, the AWS emulator with its fidelity layer, IMDS, stand-in kubelets) and the build tools
that need Go or the emulator's data.

It is its own distribution (`k8s-aws-sandbox`): the product never imports it, and it reaches
the product only through its public modules and the `k8s-aws` command.
"""
