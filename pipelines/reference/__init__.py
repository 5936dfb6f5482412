"""Reference data (INSEE COG, FINESS) and the territory in scope. Knows nothing of uploads or Dagster."""
