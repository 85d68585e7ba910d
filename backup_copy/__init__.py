"""backup-copy: cross-region copies of OCI block volume backups, made once and reported."""
