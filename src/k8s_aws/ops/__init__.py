"""Operator tools: generated IAM policies and BOSH configuration (pure; no I/O)."""
