"""The supply chain of a release: SBOM, provenance, signature, attachments, verify, diff."""
