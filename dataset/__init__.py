"""supersize_grasp.dataset: the trial store (crash-safe) and session recordings."""
