"""For every test: the GAR emulator's fixtures."""

pytest_plugins = ["tests.emulator.fixtures"]
