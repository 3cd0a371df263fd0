"""py_trees to ROS 2 glue, in the spirit of py_trees_ros: behaviours that talk to ROS, trees with snapshots."""
