"""Developer tooling, never shipped: the OCI stand-in, the fdk harness, the demo, payload tools, the bench."""
