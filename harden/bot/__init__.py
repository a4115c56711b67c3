"""The pull-request bot (`harden pr`): see the modules of this package."""
