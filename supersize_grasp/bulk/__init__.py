"""Bulk random grasp trials through the simulator's Python API: the trial of
``behaviors/trial_plan.py`` executed on a :class:`~supersize_grasp.simulator.world.BaxterWorld`
without ROS, in worker processes (``sim-collect``)."""
