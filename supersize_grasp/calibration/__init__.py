"""Eye-to-hand calibration of the head camera with a ChArUco board held by a gripper."""
