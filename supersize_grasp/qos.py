"""QoS profiles that publishers and subscribers of different nodes must agree on."""

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

# The last message stays available to late subscribers (ROS 1's "latched"), e.g. camera pose.
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)

# A robot state read for its latest value (py_trees_ros's "unlatched"): a subscriber that fell
# behind gets the newest state, not a queue of old ones it would act on.
LATEST = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)

# Every finished trial on ``/trials`` (the trial tree publishes; runners, the viewer and the
# recorder count them): reliable, and deep enough that a slow reader misses none.
TRIALS_QOS = QoSProfile(
    depth=100, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
)

# A behaviour tree's ticks (``trial.tick_topic``) for a simulator in lockstep: only the latest of
# each tree matters, and a lost one only delays the next step of the physics.
TICKS = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)

# A fleet robot's spooled trials (``/<robot>/spool/trials``, a trial with its scene's images):
# reliable, and few in flight: the robot resends what the writer has not acknowledged.
SPOOL_QOS = QoSProfile(
    depth=4, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST
)
