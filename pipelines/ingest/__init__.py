"""Shared ingestion mechanisms: pre-flight, readers, header matching, value normalisation."""
