"""py_trees to ROS 2 glue in py_trees_ros's spirit: ROS-facing behaviours, trees, snapshots."""
