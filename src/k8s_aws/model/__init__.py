"""Typed data shared by every layer: ids and AWS resource records."""
