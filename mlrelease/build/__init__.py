"""Building the image: Dockerfile reading, the build plan (tags, labels), the builder, sizes,
the smoke test and the model's metadata."""
