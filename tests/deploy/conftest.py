"""The two-region example, rendered once per test from the function's own settings."""

from __future__ import annotations

import pytest

from deploy.config import EXAMPLE_ENVIRONMENT, DeployConfig, load_deploy_config
from deploy.render import Rendered, render


@pytest.fixture
def example() -> DeployConfig:
    """Phoenix backups copied to Ashburn and Frankfurt, the Frankfurt copies under a Vault key."""
    return load_deploy_config(EXAMPLE_ENVIRONMENT)


@pytest.fixture
def rendered(example: DeployConfig) -> Rendered:
    """The example's deployment kit."""
    return render(example)
