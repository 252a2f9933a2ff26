# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Checks of what a task names (object ids, user principal names, display names), before any request.

Pure text functions: every layer above uses these, so a reference is judged the same way
wherever it is read.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import re

MAX_MEMBERS = 10000
MAX_TARGETS = 10000
MAX_MEMBERSHIPS = 50000       # (target, member) entries of one task: about 40 minutes of Graph's write budget (20 a second)
MAX_NAME_LENGTH = 256         # Entra ID's limit of a group's or administrative unit's displayName
_LISTED_PROBLEMS = 10

# \Z, not $: '$' also matches before a trailing newline, which would then travel into a path.
_GUID = re.compile(r'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z')
# Hex groups joined by dashes: meant as an object id even when it is not a valid one.
_ID_ATTEMPT = re.compile(r'^[0-9a-fA-F]+(?:-[0-9a-fA-F]+){2,}$')
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')
# A lone surrogate is no text at all: it cannot be sent as UTF-8 (and would end the run in a traceback).
_SURROGATE = re.compile(r'[\ud800-\udfff]')
# Characters no Entra UPN can hold and that mean something in a URL or a path; brackets and braces
# are what a list or dict turns into when a template puts one where a single UPN belongs.
_UPN_FORBIDDEN = re.compile(r'[\s/\\?%"<>|*:,;\[\]{}]')


def is_object_id(value):
    return isinstance(value, str) and bool(_GUID.match(value))


def object_id_segment(value):
    """An object id ready for a path; anything but a GUID is refused, so no path can be smuggled in."""
    if not is_object_id(value):
        raise ValueError("'%s' is not an object id (GUID)" % value)
    return value.lower()


_ASSIGNMENT_ID = re.compile(r'^[A-Za-z0-9_-]{1,200}$')


def assignment_id_segment(value):
    """An assignment's id (base64url, as Graph gives app role and directory role assignments) ready for a path; anything else refused."""
    if not isinstance(value, str) or not _ASSIGNMENT_ID.match(value):
        raise ValueError("'%s' is not an assignment id" % value)
    return value


def shown(value):
    """``value`` for a message: characters that would not show (controls, bidi marks, surrogates) as escapes."""
    return ''.join(char if char.isprintable() else char.encode('unicode_escape').decode('ascii') for char in str(value))


def text_problem(value):
    """Why the text ``value`` cannot be sent to Graph as a name or a key, or None."""
    if _CONTROL.search(value):
        return 'it contains control characters'
    if _SURROGATE.search(value):
        return 'it is not valid Unicode text (it holds a lone surrogate)'
    return None


def upn_problem(value):
    """Why ``value`` cannot be a user principal name, or None."""
    if not isinstance(value, str) or not value:
        return 'it is empty'
    problem = text_problem(value)
    if problem:
        return problem
    if value.count('@') != 1 or value.startswith('@') or value.endswith('@'):
        return "a user principal name has exactly one '@' between a name and a domain"
    if '..' in value:
        return "it contains '..'"
    forbidden = _UPN_FORBIDDEN.search(value)
    if forbidden:
        return "it contains '%s'" % shown(forbidden.group(0))
    return None


def member_problem(value):
    """Why ``value`` cannot be a member reference (an object id or a user principal name), or None."""
    if not isinstance(value, str) or not value.strip():
        return 'an empty value'
    if is_object_id(value):
        return None
    if '@' in value:
        problem = upn_problem(value)
        return "'%s' is not a user principal name: %s" % (shown(value), problem) if problem else None
    if _ID_ATTEMPT.match(value.strip()):
        return "'%s' is not a valid object id (a GUID such as 0f8fad5b-d9cb-469f-a165-70867728950e)" % shown(value)
    return "'%s' is neither an object id (GUID) nor a user principal name (which contains @)" % shown(value)


def target_problem(value):
    """Why ``value`` cannot be a target reference (an object id or an exact display name), or None."""
    if not isinstance(value, str) or not value.strip():
        return 'an empty value'
    if is_object_id(value):
        return None
    if _ID_ATTEMPT.match(value.strip()):
        return "'%s' is not a valid object id (a GUID such as 0f8fad5b-d9cb-469f-a165-70867728950e)" % shown(value)
    problem = text_problem(value)
    if problem:
        return "'%s': %s" % (shown(value), problem)
    if value != value.strip():
        return "'%s' has leading or trailing spaces, which no display name has" % shown(value)
    if len(value) > MAX_NAME_LENGTH:
        return "'%s...' is longer than a display name can be (%d characters)" % (shown(value[:40]), MAX_NAME_LENGTH)
    return None


def fold_key(value):
    """What two references to one object share: ids and user principal names compare without case in Entra ID;
    display names are matched exactly."""
    return value.lower() if is_object_id(value) or '@' in value else value


def _too_many(option, values, limit):
    if len(values) > limit:
        raise ValueError('%s has %d items; at most %d are accepted in one task: split them over several tasks' % (option, len(values), limit))


def _listed(problems):
    """The first problems, then how many more: a message stays readable whatever was given."""
    more = '; and %d more' % (len(problems) - _LISTED_PROBLEMS) if len(problems) > _LISTED_PROBLEMS else ''
    return '; '.join(problems[:_LISTED_PROBLEMS]) + more


def _text_list_hint(option, values):
    """What to write instead when ``values`` look like a list typed as text: one entry per line (an AWX survey's
    textarea), or 'a, b' (Ansible splits a string at its commas but keeps the spaces). The modules take YAML lists only;
    the offboarding role's list options also take such text (docs/offboarding.md, "One rule for lists and names")."""
    if not any(isinstance(value, str) and ('\n' in value.strip() or (value != value.lstrip() and len(values) > 1)) for value in values):
        return ''
    return ('. %s looks like several entries written as one string (one per line, or separated by ", "): give a YAML list '
            "instead, one '- entry' per line or [first, second]; the modules do not split text (the offboarding role's list "
            'options do)' % option)


def checked_references(option, values, problem, limit):
    """``values`` without duplicates (first one wins), or a ValueError naming ``option`` and the bad values."""
    values = list(values or [])
    _too_many(option, values, limit)
    problems = [text for text in (problem(value) for value in values) if text]
    if problems:
        raise ValueError('%s: %s%s' % (option, _listed(problems), _text_list_hint(option, values)))
    seen, folded = set(), []
    for value in values:
        key = fold_key(value)
        if key not in seen:
            seen.add(key)
            folded.append(value)
    return folded


def _entry_problems(option, index, entry, roles):
    """Why entry ``index`` of the list ``option`` cannot be used: a list of texts, each naming the entry; empty when it can."""
    where = '%s[%d]' % (option, index)
    if not isinstance(entry, dict):
        return ['%s is %s, not a mapping: write {target: <name or id>, member: <id or user principal name>}' % (where, shown(repr(entry)))]
    keys = ('target', 'member', 'role') if roles else ('target', 'member')
    problems = []
    unknown = [key for key in entry if key not in keys]
    if unknown:
        problems.append('%s has %s %s; an entry takes %s' % (where, 'keys' if len(unknown) > 1 else 'the key', ', '.join(
            "'%s'" % shown(key) for key in unknown), ', '.join(keys)))
    for key, problem in (('target', target_problem), ('member', member_problem)):
        value = entry.get(key)
        if value is None:
            problems.append('%s (%s) has no %s' % (where, shown(repr(entry))[:200], key))
        elif not isinstance(value, str):
            problems.append('%s.%s is %s (%s), not a string' % (where, key, shown(repr(value)), type(value).__name__))
        else:
            text = problem(value)
            if text:
                problems.append('%s.%s: %s' % (where, key, text))
    role = entry.get('role')
    if roles and role is not None and role not in roles:
        problems.append("%s.role is '%s'; it must be one of %s" % (where, shown(role), ', '.join(roles)))
    return problems


def checked_memberships(option, values, roles=None, limit=MAX_MEMBERSHIPS):
    """``[(target, member, role)]`` from ``values`` (mappings ``{target, member[, role]}``), in order, duplicates kept;
    otherwise a ValueError naming ``option``, each bad entry's index and its value.

    ``roles``: the roles an entry may ask for (None: an entry takes no role).
    """
    values = list(values or [])
    _too_many(option, values, limit)
    problems = []
    for index, entry in enumerate(values):
        problems.extend(_entry_problems(option, index, entry, roles))
    if problems:
        raise ValueError(_listed(problems))
    return [(entry['target'], entry['member'], entry.get('role') if roles else None) for entry in values]
