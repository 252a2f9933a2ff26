# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Put the offline get-pip stand-in where the installed ansible-test looks for it.

Run with the interpreter that has ansible-test installed. The cache file name carries the
pip version ansible-test pins for its venvs, so it is read from ansible-test itself rather
than hard-coded: a new ansible-core that moves the pin keeps working. A cache file that is
already there is left alone if it is the real script (a machine that could download it) and
brought up to date if it is an older copy of the stand-in.
"""

from __future__ import annotations

import os
import sys
import types

from ansible_test._internal.python_requirements import get_venv_packages

STAND_IN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "get_pip.py")
# Tells our stand-in (replaced when it changes) from the real script (never touched).
MARKER = b"Offline stand-in for the ``get-pip.py``"


def cache_path(python_version: str) -> str:
    pip_version = get_venv_packages(types.SimpleNamespace(version=python_version))["pip"]
    # Same expression as ansible_test/_util/target/setup/requirements.py:bootstrap()
    return os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % pip_version.replace(".", "_"))


def main() -> int:
    python_version = sys.argv[1] if len(sys.argv) > 1 else "%d.%d" % sys.version_info[:2]
    target = cache_path(python_version)
    with open(STAND_IN, "rb") as stand_in:
        wanted = stand_in.read()
    if os.path.exists(target):
        with open(target, "rb") as cached:
            current = cached.read()
        if current == wanted or MARKER not in current:
            print("ansible-test pip bootstrap: using %s" % target)
            return 0
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target + ".tmp", "wb") as cached:
        cached.write(wanted)
    os.replace(target + ".tmp", target)
    print("ansible-test pip bootstrap: installed the offline stand-in as %s" % target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
