"""The Kubernetes boundary: the only product package that imports the Kubernetes client."""
