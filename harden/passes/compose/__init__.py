"""The Compose passes (one module per rule) and the helpers they share (not passes: they are not
in PASS_MODULES)."""
