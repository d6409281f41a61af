"""Versions: the pure semver rules, the bump of a git repository, and git itself (the only
place git runs)."""
