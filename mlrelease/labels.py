"""The labels an image carries: written by the build, read by push, smoke and releases.

The `org.opencontainers.image.*` keys are the OCI image spec's pre-defined annotations; the
`org.mlrelease.*` keys are this tool's own.
"""

TITLE = "org.opencontainers.image.title"
REVISION = "org.opencontainers.image.revision"
VERSION = "org.opencontainers.image.version"
CREATED = "org.opencontainers.image.created"
SOURCE = "org.opencontainers.image.source"
BASE_NAME = "org.opencontainers.image.base.name"  # the final stage's base, as built
BASE_DIGEST = "org.opencontainers.image.base.digest"  # its registry digest, when known

MODEL_SHA256 = "org.mlrelease.model.sha256"
MODEL_SKLEARN_VERSION = "org.mlrelease.model.sklearn_version"  # only when the metadata says
MODEL_METRIC = "org.mlrelease.model.metric"  # the headline metric, accuracy=0.9649
# Several model files: `{"path": "sha256", ...}` as compact JSON, keys sorted; MODEL_SHA256 is
# then the sha256 of this label's text.
MODEL_FILES = "org.mlrelease.model.files"
BUILDER = "org.mlrelease.builder"  # classic, buildkit or cloud-build
DOCKERFILE = "org.mlrelease.dockerfile"  # the Dockerfile that built it, from the project root
DIRTY = "org.mlrelease.dirty"  # "true" when built from a working tree with changes
SMOKE_CONTAINER = "org.mlrelease.smoke"  # on smoke-test containers, for a later clean-up
