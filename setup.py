"""ament_python package ``supersize_grasp``.

The repository's top-level folders (behaviors/, nodes/, models/, config/, simulator/) are the
subpackages ``supersize_grasp.<folder>``: nothing is installed as a top-level ``behaviors`` etc.
"""

from glob import glob
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "supersize_grasp"
SUBPACKAGES = ("behaviors", "nodes", "models", "config", "simulator", "dataset")

package_dir = {PACKAGE: PACKAGE}
packages = [PACKAGE] + [f"{PACKAGE}.{p}" for p in find_packages(PACKAGE)]
for folder in SUBPACKAGES:
    package_dir[f"{PACKAGE}.{folder}"] = folder
    packages.append(f"{PACKAGE}.{folder}")
    for sub in find_packages(folder):
        packages.append(f"{PACKAGE}.{folder}.{sub}")
        package_dir[f"{PACKAGE}.{folder}.{sub}"] = str(Path(folder, *sub.split(".")))

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=packages,
    package_dir=package_dir,
    package_data={
        f"{PACKAGE}.config": ["*.yaml", "*.xml"],
        f"{PACKAGE}.models": ["weights/*.pt"],
        f"{PACKAGE}.simulator": ["assets/**/*"],
        f"{PACKAGE}.viewer": ["static/*"],
    },
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.xml")),
    ],
    python_requires=">=3.10",
    install_requires=["setuptools"],
    extras_require={"test": ["pytest"]},
    zip_safe=False,
    maintainer="supersize_grasp maintainers",
    maintainer_email="maintainers@example.org",
    description="Self-supervised grasp learning after Pinto & Gupta (ICRA 2016) on ROS 2.",
    license="BSD-3-Clause",
    entry_points={
        "console_scripts": [
            "supersize-grasp = supersize_grasp.cli:main",
            "baxter_ik = supersize_grasp.nodes.baxter_ik:main",
            "camera_pose = supersize_grasp.nodes.camera_pose:main",
            "dataset_writer = supersize_grasp.nodes.dataset_writer:main",
            "grasp_scorer = supersize_grasp.nodes.grasp_scorer:main",
            "interface_echo = supersize_grasp.nodes.interface_check:main",
            "recorder = supersize_grasp.nodes.recorder:main",
            "sim_baxter = supersize_grasp.nodes.sim_baxter:main",
            "trial_tree = supersize_grasp.nodes.trial_tree:main",
        ],
    },
)
