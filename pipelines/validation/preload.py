"""Imported once by the validation fork server: the units, so that a child forked from it is ready."""

from pipelines.contract.discovery import discover_units

UNITS = discover_units()
