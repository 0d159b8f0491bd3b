"""Parsing of configuration files into frozen typed values; pure, no I/O beyond the text."""
