"""The `stash-sense` command line."""
