"""The Dockerfile passes: one module per rule."""
