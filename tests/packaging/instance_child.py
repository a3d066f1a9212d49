"""A second Engram launch, as a real process, for the single-instance tests.

Usage: python -m tests.packaging.instance_child MODE DATA_DIR [ARGS...]
  claim  claim the folder; print "handed-over" (exit 0) or "primary" and stay alive
  lock   take only the lock file, never listen (a hung owner), and stay alive
"""
from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    mode, data_dir, *args = sys.argv[1:]
    from PySide6.QtCore import QCoreApplication, QLockFile

    app = QCoreApplication([])
    if mode == "lock":
        lock = QLockFile(os.path.join(data_dir, ".engram-instance.lock"))
        assert lock.tryLock(0)
        print("locked", flush=True)
        time.sleep(120)
        return 0
    from app.single_instance import InstanceBusyError, claim

    try:
        inst = claim(data_dir, args)
    except InstanceBusyError:
        print("busy", flush=True)
        return 3
    if inst is None:
        print("handed-over", flush=True)
        return 0
    print("primary", flush=True)
    inst.activated.connect(lambda argv: print("activated", *argv, flush=True))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
