"""supersize_grasp.config"""
