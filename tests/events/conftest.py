"""The matching tests' experts: an event pairs their needs and experts by match score."""

from tests.matching.conftest import experts  # noqa: F401 - a fixture, shared
