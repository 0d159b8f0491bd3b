"""Generic helpers shared by every layer; no AWS or Kubernetes knowledge here."""
