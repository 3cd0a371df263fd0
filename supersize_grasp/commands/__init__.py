"""One module per ``supersize-grasp`` verb (see ``supersize_grasp.cli.VERBS``)."""
