"""supersize_grasp.behaviors"""
