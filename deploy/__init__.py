"""The deployment kit: IAM, Events rule and commands rendered from the function's own settings."""
