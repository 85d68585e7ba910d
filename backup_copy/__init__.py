"""backup-copy: cross-region copies of OCI block volume backups, made once and reported."""

# The release, in every answer, notice and log line; pyproject.toml and func.yaml carry the same
# (tests/unit/test_version.py), and CHANGELOG.md says what each release changed for users.
__version__ = "0.3.0"
