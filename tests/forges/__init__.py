"""Fake forges on 127.0.0.1 for `harden pr`: GitHub checked against its OpenAPI description, Gitea hand-written."""
