"""The reporting layer: what the committee and analysts take away from the published warehouse
(tables in the French Excel dialect, the committee pack). Reads the warehouse; knows nothing of Dagster."""
