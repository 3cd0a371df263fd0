# Source me for an interactive shell: the venv (ROS 2 wheels + our interfaces live inside it).
# `.venv/bin/supersize-grasp` works without this; the shell gets the same environment plus defaults.
_ssg_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
set +u
# shellcheck disable=SC1091
source "$_ssg_root/.venv/bin/activate"
if [[ -n ${ROS_DISTRO:-} ]]; then
  # A sourced ROS 2 distribution: overlay the interfaces colcon installed into the venv.
  # shellcheck disable=SC1091
  source "$_ssg_root/.venv/local_setup.bash"
else
  export AMENT_PREFIX_PATH=$VIRTUAL_ENV
fi
export ROS_AUTOMATIC_DISCOVERY_RANGE=${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}
export MUJOCO_GL=${MUJOCO_GL:-egl}
# Fast DDS transports that carry a camera frame whole (config/fastdds.xml), as the nodes get them.
export FASTDDS_DEFAULT_PROFILES_FILE=${FASTDDS_DEFAULT_PROFILES_FILE:-$_ssg_root/config/fastdds.xml}
unset _ssg_root
