# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline stand-in for the ``get-pip.py`` that ansible-test downloads to bootstrap its venvs.

ansible-test creates its sanity/units venvs without pip, then runs this script (cached as
``~/.ansible/test/cache/get_pip_<version>.py``) with pip-install arguments such as
``--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel``. The real script comes
from a host that machines with only a package registry cannot reach; this one gets the same
result from the interpreter's own ``ensurepip`` followed by a normal ``pip install``.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys

# get-pip.py options that are not pip-install options: they say which extras to leave out.
_GET_PIP_ONLY_OPTIONS = {"--no-setuptools": "setuptools", "--no-wheel": "wheel"}


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def main() -> int:
    install_args = [arg for arg in sys.argv[1:] if arg not in _GET_PIP_ONLY_OPTIONS]
    unwanted = [_GET_PIP_ONLY_OPTIONS[arg] for arg in sys.argv[1:] if arg in _GET_PIP_ONLY_OPTIONS]

    # ensurepip sets PIP_CONFIG_FILE=/dev/null for its own run; the install below must see the
    # machine's pip.conf (index, certificates) like the real get-pip.py does.
    env = {name: value for name, value in os.environ.items() if name != "PIP_CONFIG_FILE"}

    subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True, env=env)
    subprocess.run([sys.executable, "-m", "pip", "install", "--upgrade", *install_args], check=True, env=env)

    # ensurepip brings setuptools along on Python < 3.12; get-pip.py --no-setuptools would not.
    requested = " ".join(install_args)
    leftovers = [name for name in unwanted if name not in requested and _installed(name)]
    if leftovers:
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", *leftovers], check=True, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
