"""supersize_grasp.simulator"""
