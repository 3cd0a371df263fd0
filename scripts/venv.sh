# Sourced by setup.sh and env.sh: which venv holds which ROS 2 wheels (ROS_WHEELS, default kilted).
SSG_ROS_WHEELS=${ROS_WHEELS:-kilted}
if [[ $SSG_ROS_WHEELS == kilted ]]; then SSG_VENV=.venv; else SSG_VENV=.venv-$SSG_ROS_WHEELS; fi
