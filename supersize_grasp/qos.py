"""QoS profiles that publishers and subscribers of different nodes must agree on."""

from rclpy.qos import DurabilityPolicy, QoSProfile

# The last message stays available to late subscribers (ROS 1's "latched"), e.g. camera pose.
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
