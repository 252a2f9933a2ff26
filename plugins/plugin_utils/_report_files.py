# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Report files on the controller: never overwriting another run's, always whole, one writer at a time.

- A file is written to a temporary file in the same directory, flushed to disk, then renamed
  over (or, for a new report, hard-linked to) its name: a reader sees the old or the new
  content, never part of one, whatever instant the writer is killed at.
- A new report's name is claimed with ``link``, which fails if the name exists: a run never
  overwrites another run's file.
- Every read-modify-write of a directory's reports holds an exclusive ``flock`` on a lock file
  in it, so the forks of one run (inventory mode) and concurrent runs take turns.
- Which process wrote a report (host, pid and its start time) tells a later run whether a
  ``running`` report's run is still going.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import errno
import fcntl
import getpass
import glob
import json
import os
import secrets
import socket
import tempfile
from contextlib import contextmanager, suppress

from ansible_collections.entra.membership.plugins.plugin_utils import _offboard_report as report_data

# Not inside the installed collection (an upgrade with --force would delete it) nor the working directory
# (a run from elsewhere would not find the reports it continues): one place per controller account.
DEFAULT_REPORT_DIR = '~/.ansible/entra.membership/reports'
LOCK_NAME = '.entra-membership-reports.lock'
FILE_MODE = 0o640
DIRECTORY_MODE = 0o750
OFFBOARD_REPORTS = 'offboard-2*.json'      # real runs' reports: previews are named offboard-PREVIEW-...
RESTORE_REPORTS = 'restore-2*.json'


def report_directory(path):
    """The absolute directory, created (with ``DIRECTORY_MODE``, parents too) only if missing: an existing one keeps its mode."""
    directory = os.path.abspath(os.path.expanduser(os.path.expandvars(path)))
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=DIRECTORY_MODE, exist_ok=True)
    return directory


@contextmanager
def directory_lock(directory):
    """Hold the directory's report lock (blocking); the kernel releases it if the holder dies."""
    descriptor = os.open(os.path.join(directory, LOCK_NAME), os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _sync_directory(directory):
    # The rename is durable only once the directory entry is on disk; some filesystems cannot sync a directory.
    with suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def write_atomically(path, text, new=False):
    """Write ``text`` to ``path`` whole or not at all; ``new``: fail with FileExistsError rather than replace a file."""
    directory = os.path.dirname(path)
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path), suffix='.tmp')
    try:
        with os.fdopen(descriptor, 'w', encoding='utf-8') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, FILE_MODE)
        if new:
            _claim(temporary, path)
        else:
            os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(directory)


def _claim(temporary, path):
    try:
        os.link(temporary, path)
    except OSError as error:
        if error.errno == errno.EEXIST or error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        # A filesystem without hard links: reserve the name (O_EXCL), then rename over the reservation. The
        # empty reservation is visible for an instant; the directory lock keeps this collection's readers out.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        os.replace(temporary, path)
    else:
        os.unlink(temporary)


def write_json(path, data, new=False):
    write_atomically(path, json.dumps(data, indent=2, sort_keys=False) + '\n', new=new)


def report_file(directory):
    """report -> the path of its JSON file in ``directory``."""
    return lambda report: os.path.join(directory, report_data.report_name(report) + '.json')


def write_markdown(path, report):
    """The Markdown twin of the JSON report at ``path``, written with the plan, at the end, and when marked interrupted."""
    write_atomically(path[:-len('.json')] + '.md', report_data.markdown(report))


def notice_interrupted(path, report, noticed_by):
    """A ``running`` report whose run is gone, marked ``interrupted`` in place (the caller holds the directory lock)."""
    report['status'] = report_data.INTERRUPTED
    report['interrupted'] = {'noticed_by': noticed_by, 'noticed_at': report_data.timestamp(report_data.utc_now())}
    write_json(path, report)
    write_markdown(path, report)


def read_json(path):
    with open(path, encoding='utf-8') as handle:
        return json.load(handle)


def new_run_id(moment):
    """The UTC time of the run and a random suffix: sortable, and two runs in one second still differ."""
    return '%s-%s' % (moment.strftime('%Y%m%dT%H%M%SZ'), secrets.token_hex(3))


def reports_in(directory, pattern):
    """``[(path, data)]`` of the JSON reports matching ``pattern``, oldest first (by name: the run id starts with its time).

    A file that is not JSON is skipped and named in the second value, a list of problems.
    """
    found, problems = [], []
    for path in sorted(glob.glob(os.path.join(directory, pattern))):
        try:
            found.append((path, read_json(path)))
        except (OSError, ValueError) as error:
            problems.append('%s could not be read: %s' % (path, error))
    return found, problems


# ---------------------------------------------------------------------------------------------
# Which process wrote a report, and whether it is still running
# ---------------------------------------------------------------------------------------------

def _process_start(pid):
    """The process's start time in clock ticks since boot (Linux /proc), to tell it from a later process with its pid."""
    try:
        with open('/proc/%d/stat' % pid, encoding='ascii', errors='replace') as handle:
            fields = handle.read().rsplit(')', 1)[1].split()
        return int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def process_identity(pid):
    return {'host': socket.gethostname(), 'pid': pid, 'process_started': _process_start(pid)}


def process_running(identity):
    """True or False for a process of this host; None when it ran on another host (nothing here can tell)."""
    if not isinstance(identity, dict) or identity.get('host') != socket.gethostname() or not isinstance(identity.get('pid'), int):
        return None
    try:
        os.kill(identity['pid'], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    recorded = identity.get('process_started')
    return recorded is None or _process_start(identity['pid']) in (None, recorded)


def unfinished_run_alive(report):
    """Whether a ``running`` report's ansible-playbook still runs on this host (None: it ran on another host)."""
    return process_running(report.get('controller')) if report.get('status') == report_data.RUNNING else False


def run_by(task_vars):
    """Who started the run: AWX's launching user (its extra variables), else the account running ansible-playbook."""
    for name in ('awx_user_name', 'tower_user_name'):
        if task_vars.get(name):
            return str(task_vars[name])
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
