# Source me for an interactive shell: the venv (ROS 2 wheels + our interfaces live inside it; .venv,
# or .venv-jazzy with ROS_WHEELS=jazzy). `.venv/bin/supersize-grasp` works without this; the shell
# gets the same environment plus defaults.
_ssg_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
set +u
# shellcheck disable=SC1091
source "$_ssg_root/scripts/venv.sh"
# shellcheck disable=SC1091
source "$_ssg_root/$SSG_VENV/bin/activate"
if [[ -n ${ROS_DISTRO:-} ]]; then
  # A sourced ROS 2 distribution: overlay the interfaces colcon installed into the venv.
  # shellcheck disable=SC1091
  source "$_ssg_root/$SSG_VENV/local_setup.bash"
else
  export AMENT_PREFIX_PATH=$VIRTUAL_ENV
fi
export ROS_AUTOMATIC_DISCOVERY_RANGE=${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}
export MUJOCO_GL=${MUJOCO_GL:-egl}
# Fast DDS transports that carry a camera frame whole (config/fastdds.xml), as the nodes get them
# (under the variable name that this ROS 2's Fast DDS reads: supersize_grasp/graph.py).
eval "$(python -m supersize_grasp.graph)"
unset _ssg_root SSG_ROS_WHEELS SSG_VENV
