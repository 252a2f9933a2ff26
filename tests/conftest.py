"""Test bootstrap: expose this repo as ``ansible_collections.entra.membership``.

The repo root *is* the collection, but Python (and ansible-playbook) find collections only
under an ``ansible_collections/<namespace>/<name>`` path. A symlink in the git-ignored
``.build/`` gives that path without moving the repo.
"""
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS_ROOT = os.path.join(REPO_ROOT, ".build", "collections")
_LINK = os.path.join(COLLECTIONS_ROOT, "ansible_collections", "entra", "membership")

if not os.path.islink(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    try:
        os.symlink(REPO_ROOT, _LINK)
    except FileExistsError:  # another xdist worker made it first
        pass
if COLLECTIONS_ROOT not in sys.path:
    sys.path.insert(0, COLLECTIONS_ROOT)
os.environ["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS_ROOT

pytest_plugins = ["graphsim.pytest_plugin", "secretscan"]
