"""``supersize-grasp view``: the behaviour tree in a browser, live or replaying a recording.

Plain Python first (:mod:`.model`, :mod:`.recording`, :mod:`.assets`), then the thin server and
ROS shell over them (:mod:`.server`); the page itself is in ``static/``.
"""
