"""The warehouse layer: the working DuckDB database (schema, staging, indicators, audit) and its
publication to analysts. Knows validated uploads and units; knows nothing of Dagster."""
