"""Callback for the benchmark: how long each task took, as JSON lines in $BENCH_TASK_SECONDS_FILE."""
from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: task_seconds
type: aggregate
short_description: wall time of every task, for tests/benchmarks
description: Appends C({"task", "action", "seconds"}) per task to the file named by BENCH_TASK_SECONDS_FILE.
requirements: [enable in ANSIBLE_CALLBACKS_ENABLED]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_seconds"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._task = None
        self._started = None

    def _close(self):
        path = os.environ.get("BENCH_TASK_SECONDS_FILE")
        if self._task is not None and path:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"task": self._task.get_name(), "action": self._task.action,
                                         "seconds": time.monotonic() - self._started}) + "\n")
        self._task = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self._task, self._started = task, time.monotonic()

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats):
        self._close()
