"""`python -m stash_sense_devkit.cli`: the `stash-sense-dev` command."""

from stash_sense_devkit.cli.app import main

main()
