"""harden: rewrite container configurations to be secure, with a diff a human can review."""

__version__ = "0.1.0"
