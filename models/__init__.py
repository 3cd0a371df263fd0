"""supersize_grasp.models"""
