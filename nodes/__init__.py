"""supersize_grasp.nodes"""
