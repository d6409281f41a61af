"""Where releases go: credentials, the Artifact Registry API, the Registry HTTP API v2, the
release target, the engine's push, push and verify, and the list of releases."""
