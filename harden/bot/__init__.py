"""The pull-request bot (`harden pr`): forges, git, the pull-request body and the run that ties them."""
