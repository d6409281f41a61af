"""Settings: flag > MLRELEASE_* > the runbook's variable names > [tool.mlrelease] > defaults."""
