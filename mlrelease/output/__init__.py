"""The one writer: data on stdout, people's lines on stderr, the JSON envelope, Rich views,
progress, GitHub Actions files. Only the command line imports it."""
