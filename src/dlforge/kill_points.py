"""Named points where the kill tests stop a stage (tests/e2e/test_kill.py); inert unless armed.

With DLFORGE_FAULT_AT=<point> (and DLFORGE_FAULT_FILE=<path>) in the environment, the process
that reaches that point writes its pid to the file and waits there, so the test can SIGKILL it at a
known place. Without them, `point` returns at once. Points: mid_epoch, validation, checkpoint_write
(train), evaluate, register_before_alias.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

AT, FILE = "DLFORGE_FAULT_AT", "DLFORGE_FAULT_FILE"


def point(name: str) -> None:
    if os.environ.get(AT) != name:
        return
    Path(os.environ[FILE]).write_text(str(os.getpid()))
    time.sleep(600)  # the test kills the process here


def armed() -> bool:
    return bool(os.environ.get(AT))
