"""The `stash-sense-dev` command."""
