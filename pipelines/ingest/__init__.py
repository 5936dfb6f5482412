"""Shared ingestion mechanisms: pre-flight, readers, header matching, value normalisation.
Knows files and cells, not sources: imports only pipelines.foundation."""
