"""The pull-request bot (`harden pr`): a sink of the one pipeline that ends in a pull request.

- topics: what each pull request holds (hardening; pin-refresh), its branch and commit message;
- run: per topic, a clean worktree of the base branch, the pipeline into it, the commit;
- publish: push with a lease, open, update or close the pull request, undo on error;
- body: the pull request's body (templates/pr/), and the drop boxes a reviewer ticks;
- git: the git command line (worktrees, commits, pushes; the token only in the environment);
- forge, github, gitea: the forges' APIs behind one small interface.
"""
