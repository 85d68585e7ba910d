"""Developer tooling, never shipped: the OCI stand-in, the fdk harness, the demo, payload tools, the bench."""

from pathlib import Path

# The project's root (the checkout), which every tool here runs from or reads under.
PROJECT = Path(__file__).resolve().parent.parent
