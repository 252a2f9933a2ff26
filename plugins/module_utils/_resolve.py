# -*- coding: utf-8 -*-
# Copyright: Contributors to the entra.membership collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Users and targets from ids, UPNs and display names, in as few requests as possible.

FOR INTERNAL COLLECTION USE ONLY: this interface may change in any release.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from urllib.parse import quote

from ansible_collections.entra.membership.plugins.module_utils._errors import GraphError
from ansible_collections.entra.membership.plugins.module_utils._graph_client import GraphRequest, GraphResponse, key_literal
from ansible_collections.entra.membership.plugins.module_utils._references import (
    fold_key,
    is_object_id,
    member_problem,
    shown,
    target_problem,
    upn_problem,
)

TARGET_TYPES = ('group', 'administrative_unit', 'team')
USER_SELECT = 'id,userPrincipalName,displayName'
# Values in one ``userPrincipalName in (...)``: Graph allows 15 expressions in an 'in' filter outside advanced
# queries (there the limit is a URL of 2,048 characters); a 16th is refused with "Too many child clauses
# specified in search filter expression containing 'OR' operators: 16. Max allowed: 15". Microsoft Graph known
# issue 13635 (https://developer.microsoft.com/graph/known-issues/?search=13635), linked for 'in' from
# concepts/filter-query-parameter.md; includes/filter-directory-objects.md lists 'in' on userPrincipalName as a default query.
UPN_FILTER_LIMIT = 15
# The longest value a $filter clause takes outside advanced queries: "The maximum length of the value of a filter
# clause is 120 characters" (known issue 13635); Graph refuses a longer one with a 400 that does not say why, although
# display names go to 256. A longer name is asked for by its first 120 characters (startswith) and matched here.
FILTER_VALUE_LIMIT = 120
NAME_PAGE_SIZE = 999          # Graph's maximum $top: a name look-up reads every match (two mean an ambiguous name)
NEAR_MISS_PREFIX = 3          # a name that matches nothing: the names starting as it does are read (one page) ...
NEAR_MISSES = 3               # ... and the closest few suggested (difflib's ratio, at least NEAR_MISS_CUTOFF)
NEAR_MISS_CUTOFF = 0.6
NEAR_MISS_LOOKUPS = 10        # names looked up for suggestions in one task; the rest fail without one
# What an id given as a target turned out to be (its @odata.type in /directoryObjects), for the message.
OBJECT_KINDS = {'#microsoft.graph.user': 'a user', '#microsoft.graph.group': 'a group', '#microsoft.graph.administrativeUnit':
                'an administrative unit', '#microsoft.graph.servicePrincipal': 'a service principal', '#microsoft.graph.device': 'a device',
                '#microsoft.graph.orgContact': 'an organizational contact', '#microsoft.graph.application': 'an application'}


@dataclass
class Member:
    ref: str                       # as given
    id: str | None = None
    upn: str | None = None
    display_name: str | None = None
    found: bool = False            # False with error None: Graph says there is no such object
    error: GraphError | None = None
    object_type: str | None = None  # 'user', 'group', ... from @odata.type when known


@dataclass
class Target:
    ref: str                       # as given
    id: str | None = None
    display_name: str | None = None
    type: str | None = None        # group | administrative_unit | team
    raw: dict | None = None        # the object as Graph gave it, with the properties asked for
    error: GraphError | None = None


def user_path(ref):
    """``/users/...`` for a GUID or a UPN: '#' of guests' #EXT# becomes %23; a UPN starting with '$' takes the ('...') form."""
    if is_object_id(ref):
        return '/users/%s' % ref.lower()
    problem = upn_problem(ref)
    if problem:
        raise ValueError("'%s' is not a user principal name: %s" % (shown(ref), problem))
    if ref.startswith('$') or "'" in ref:
        # '/users/$x' would read as an OData system segment; a quote needs the literal form to double it.
        return '/users(%s)' % key_literal(ref)
    return '/users/%s' % quote(ref, safe="@!$&()*+,;=-._~")


def filter_literal(value):
    """An OData string literal for $filter: quotes doubled (URL encoding happens with the query)."""
    return "'%s'" % str(value).replace("'", "''")


def target_collection(target_type, api_version='v1.0'):
    """Where objects of ``target_type`` are read: a team is read as its group."""
    if target_type in ('group', 'team'):
        return '/groups'
    if target_type == 'administrative_unit':
        return '/administrativeUnits' if api_version == 'beta' else '/directory/administrativeUnits'
    raise ValueError('target type must be one of %s, got %s' % (', '.join(TARGET_TYPES), target_type))


def _object_type(item):
    odata_type = (item or {}).get('@odata.type') or ''
    return odata_type.rsplit('.', 1)[-1] or None


def _invalid(code, message):
    return GraphError(None, code, message)


def _batch_by_key(client, requests_by_key):
    """``{key: GraphResponse}`` for ``{key: GraphRequest}``, all sent through one ``client.batch``."""
    keys = list(requests_by_key)
    return dict(zip(keys, client.batch([requests_by_key[key] for key in keys])))


def upn_filter_request(upns, prop='userPrincipalName'):
    """One GET of /users for up to UPN_FILTER_LIMIT UPNs (or ``mail`` addresses; literals quoted here, URL-encoded with the query)."""
    values = ','.join(filter_literal(upn) for upn in upns)
    select = USER_SELECT if prop == 'userPrincipalName' else '%s,%s' % (USER_SELECT, prop)
    return GraphRequest('GET', '/users', params={'$filter': '%s in (%s)' % (prop, values), '$select': select})


def _found_users(client, response):
    """The users in the answer to an ``upn_filter_request``, every page; GraphError if there is none to read."""
    response.raise_for_error()
    body = response.body
    if not isinstance(body, dict) or not isinstance(body.get('value'), list):
        raise GraphError(response.status, 'InvalidResponse', 'no list of users in the answer', response.request_id)
    users = list(body['value'])
    if body.get('@odata.nextLink'):
        # Fifteen users fit in any page Graph gives, but a user left on a page unread would be reported absent.
        users.extend(client.paged(body['@odata.nextLink']))
    return [user for user in users if isinstance(user, dict) and user.get('id') and isinstance(user.get('userPrincipalName'), str)]


def _users_by_upn(client, response):
    """``{lower-cased UPN: user}`` from the answer to an ``upn_filter_request``; GraphError if there is none to read."""
    return {user['userPrincipalName'].lower(): user for user in _found_users(client, response)}


def users_by_mail(client, addresses):
    """``{lower-cased address: user}`` for the users whose ``mail`` is one of ``addresses`` (a guest's is its external
    e-mail address, which people give for its user principal name); a filter that fails finds nobody."""
    chunks = [addresses[start:start + UPN_FILTER_LIMIT] for start in range(0, len(addresses), UPN_FILTER_LIMIT)]
    found = {}
    for response in client.batch([upn_filter_request(chunk, prop='mail') for chunk in chunks]):
        try:
            users = _found_users(client, response)
        except GraphError:
            continue  # only a hint was sought
        found.update((str(user.get('mail')).lower(), user) for user in users if user.get('mail'))
    return found


def resolve_members(client, refs):
    """``{ref: Member}`` for every ref: ids and UPNs read as users, batched; duplicates asked once.

    UPNs are read UPN_FILTER_LIMIT at a time with ``$filter=userPrincipalName in (...)``, ids one
    GET each (``id`` takes ``in`` only in advanced queries); all of these go 20 to a ``$batch``.
    A UPN the filter does not return is absent (found False, no error); a filter request that fails
    gives its error to every UPN it asked for. Users are read with User.Read.All. An id that is no
    user (a nested group, a service principal, a device) is read as a directory object in a second
    round, which needs Directory.Read.All; without it that member gets a 403 error, never a silent "absent".
    """
    members = {}
    keys = {}         # ref -> fold key: ids and UPNs compare case-insensitively
    for ref in refs:
        if ref in members or ref in keys:
            continue
        problem = member_problem(ref)
        if problem:
            members[ref] = Member(ref, error=_invalid('InvalidMemberReference', "member '%s' is not valid: %s" % (ref, problem)))
            continue
        keys[ref] = fold_key(ref)
    spelled = {}      # fold key -> the first ref given for it, which is what is asked for
    for ref, key in keys.items():
        spelled.setdefault(key, ref)
    ids = [key for key in spelled if is_object_id(key)]
    upns = [key for key in spelled if not is_object_id(key)]
    upn_keys = set(upns)
    upn_chunks = [upns[start:start + UPN_FILTER_LIMIT] for start in range(0, len(upns), UPN_FILTER_LIMIT)]
    reads = [GraphRequest('GET', user_path(key), params={'$select': USER_SELECT}) for key in ids]
    reads += [upn_filter_request([spelled[key] for key in chunk]) for chunk in upn_chunks]
    responses = client.batch(reads)
    users, upn_errors = {}, {}
    for chunk, response in zip(upn_chunks, responses[len(ids):]):
        try:
            users.update(_users_by_upn(client, response))
        except GraphError as error:
            upn_errors.update(dict.fromkeys(chunk, error))
    answers = dict(zip(ids, responses))
    not_users = {key: GraphRequest('GET', '/directoryObjects/%s' % key) for key, response in answers.items() if response.status == 404}
    answers.update(_batch_by_key(client, not_users))
    for ref, key in keys.items():
        if key in upn_errors:
            members[ref] = Member(ref, error=upn_errors[key])
        elif key in upn_keys:
            user = users.get(key)
            members[ref] = Member(ref, user['id'], user['userPrincipalName'], user.get('displayName'), True, None, 'user') if user else Member(ref)
        else:
            members[ref] = _member_by_id(ref, answers[key], key in not_users)
    return {ref: members[ref] for ref in refs}


def _member_by_id(ref, response, read_as_directory_object):
    if response.ok and isinstance(response.body, dict) and response.body.get('id'):
        body = response.body
        return Member(ref, body['id'], body.get('userPrincipalName'), body.get('displayName'), True, None,
                      _object_type(body) if read_as_directory_object else 'user')
    if response.status == 404:
        return Member(ref)
    error = response.error or GraphError(response.status, 'InvalidResponse', 'no object in the answer')
    if read_as_directory_object and response.status == 403:
        error = GraphError(403, error.code, "'%s' is not a user; reading other kinds of directory objects needs the "
                                            "Directory.Read.All permission (%s)" % (ref, error.message), error.request_id)
    return Member(ref, error=error)


def _select(target_type, select):
    wanted = [name.strip() for name in (select.split(',') if isinstance(select, str) else (select or [])) if name and name.strip()]
    needed = ['id', 'displayName'] + (['resourceProvisioningOptions'] if target_type == 'team' else [])
    return ','.join(dict.fromkeys(needed + wanted))


def _is_team(item):
    return 'Team' in ((item or {}).get('resourceProvisioningOptions') or [])


def _label(target_type):
    return target_type.replace('_', ' ')


def resolve_targets(client, target_type, refs, select=None):
    """``{ref: Target}``: a GUID read by id, anything else an exact displayName that must match exactly one object."""
    collection = target_collection(target_type, client.api_version)
    fields = _select(target_type, select)
    label = _label(target_type)
    targets, queries, keys = {}, {}, {}
    for ref in refs:
        if ref in targets or ref in keys:
            continue
        problem = target_problem(ref)
        if problem:
            targets[ref] = Target(ref, type=target_type, error=_invalid(
                'InvalidTargetReference', "%s '%s' is not valid: %s" % (label, shown(ref)[:80], problem)))
            continue
        if is_object_id(ref):
            key = ('id', ref.lower())
            request = GraphRequest('GET', '%s/%s' % (collection, ref.lower()), params={'$select': fields})
        else:
            key = ('name', ref)
            request = GraphRequest('GET', collection, params={'$filter': name_filter(ref), '$select': fields, '$top': str(NAME_PAGE_SIZE)})
        keys[ref] = key
        queries.setdefault(key, request)
    answers = _batch_by_key(client, queries)
    _read_more_pages(client, answers)
    for ref, key in keys.items():
        targets[ref] = _target(ref, key, answers[key], target_type, label)
    _explain_missing(client, targets, collection, target_type)
    return {ref: targets[ref] for ref in refs}


def _explain_missing(client, targets, collection, target_type):
    """Say more about targets that matched nothing: the closest display names to a name (difflib), and what an id that
    is no such target is instead (a user given as a group, say). Only hints: a read that fails adds nothing."""
    label = _label(target_type)
    by_id = [ref for ref, target in targets.items() if target.error is not None and target.error.status == 404 and is_object_id(ref)]
    unmatched = [ref for ref, target in targets.items() if target.error is not None and target.error.code == 'TargetNotFound']
    by_name = [ref for ref in unmatched if 'differing only in case' not in targets[ref].error.message][:NEAR_MISS_LOOKUPS]
    reads = {('id', ref): GraphRequest('GET', '/directoryObjects/%s' % ref.lower()) for ref in by_id}
    prefixes = {ref: ref[:NEAR_MISS_PREFIX] for ref in by_name}
    for prefix in set(prefixes.values()):
        reads[('prefix', prefix)] = GraphRequest('GET', collection, params={
            '$filter': 'startswith(displayName,%s)' % filter_literal(prefix), '$select': _select(target_type, None), '$top': str(NAME_PAGE_SIZE)})
    if not reads:
        return
    answers = _batch_by_key(client, reads)
    for ref in by_id:
        response = answers[('id', ref)]
        body = response.body if response.ok and isinstance(response.body, dict) else {}
        kind = OBJECT_KINDS.get(body.get('@odata.type'), 'another kind of object') if body else None
        if kind:
            name = body.get('userPrincipalName') or body.get('displayName')
            _add_to_message(targets, ref, '; that id is %s%s, not a%s %s' % (
                kind, " ('%s')" % shown(name) if name else '', 'n' if label[0] in 'aeiou' else '', label))
    for ref in by_name:
        response = answers[('prefix', prefixes[ref])]
        body = response.body if response.ok and isinstance(response.body, dict) else {}
        names = {str(item.get('displayName')): item.get('id') for item in body.get('value') or []
                 if isinstance(item, dict) and item.get('displayName') and (target_type != 'team' or _is_team(item))}
        close = difflib.get_close_matches(ref, list(names), n=NEAR_MISSES, cutoff=NEAR_MISS_CUTOFF)
        if close:
            _add_to_message(targets, ref, '; did you mean %s?' % ', '.join("'%s' (%s)" % (shown(name), names[name]) for name in close))


def _add_to_message(targets, ref, text):
    target = targets[ref]
    error = target.error
    targets[ref] = replace(target, error=GraphError(error.status, error.code, error.message + text, error.request_id))


def name_filter(name):
    """``displayName eq '<name>'``; for a name longer than a filter value may be, ``startswith`` on its first
    FILTER_VALUE_LIMIT characters (the caller keeps the exact matches)."""
    if len(name) > FILTER_VALUE_LIMIT:
        return 'startswith(displayName,%s)' % filter_literal(name[:FILTER_VALUE_LIMIT])
    return 'displayName eq %s' % filter_literal(name)


def _read_more_pages(client, answers):
    """Every page of the name look-ups that had more than one (a long name's prefix can match many), in place."""
    for key, response in answers.items():
        body = response.body if response.ok and isinstance(response.body, dict) else None
        if key[0] == 'name' and body and body.get('@odata.nextLink'):
            try:
                body['value'] = list(body.get('value') or []) + list(client.paged(body.pop('@odata.nextLink')))
            except GraphError as error:
                answers[key] = GraphResponse(error.status, error=error, request_id=error.request_id)


def _target(ref, key, response, target_type, label):
    by_id = key[0] == 'id'
    if not response.ok:
        error = response.error
        if by_id and response.status == 404:
            error = GraphError(404, error.code, "%s '%s' does not exist" % (label, ref), error.request_id)
        return Target(ref, type=target_type, error=error)
    body = response.body if isinstance(response.body, dict) else {}
    candidates = [body] if by_id else list(body.get('value') or [])
    if not by_id:
        # Graph's eq (and startswith) ignore case: what came back is the name in any case, or a long name's prefix.
        candidates = [item for item in candidates if str(item.get('displayName') or '').lower() == ref.lower()]
    near = [] if by_id else [item for item in candidates if item.get('displayName') != ref]
    if not by_id and target_type != 'team':
        # Graph's eq on displayName ignores case; "exact" here means exact, so that a
        # near miss never removes anyone from the wrong group.
        candidates = [item for item in candidates if item.get('displayName') == ref]
    if target_type == 'team':
        groups = candidates if by_id else [item for item in candidates if item.get('displayName') == ref]
        candidates = [item for item in groups if _is_team(item)]
        if groups and not candidates:
            return Target(ref, type=target_type, error=GraphError(
                None, 'NotATeam', "group '%s' (%s) has no team" % (shown(ref), ', '.join(item.get('id') or '?' for item in groups)), response.request_id))
    if not candidates:
        hint = '; names differing only in case: %s' % ', '.join("'%s' (%s)" % (shown(item.get('displayName')), item.get('id')) for item in near) if near else ''
        return Target(ref, type=target_type, error=GraphError(
            None, 'TargetNotFound', "no %s has the display name '%s'%s" % (label, shown(ref), hint), response.request_id))
    more = bool(body.get('@odata.nextLink'))
    if len(candidates) > 1 or more:
        ids = ', '.join(item.get('id') or '?' for item in candidates) + (', ...' if more else '')
        return Target(ref, type=target_type, error=GraphError(
            None, 'AmbiguousTargetName', "%d %ss have the display name '%s' (%s): give the id instead" % (len(candidates), label, shown(ref), ids),
            response.request_id))
    item = candidates[0]
    return Target(ref, item.get('id'), item.get('displayName'), target_type, item, None)


def fold_members(members, warn, option='members'):
    """Member refs to use: a second ref to an already listed object (an id and its UPN) is dropped with a warning."""
    seen, kept = {}, []
    for ref, member in members.items():
        key = member.id.lower() if member.found and member.id else None
        if key and key in seen:
            warn("%s: '%s' and '%s' are the same object (%s); it is handled once, as '%s'" % (option, seen[key], ref, member.id, seen[key]))
            continue
        if key:
            seen[key] = ref
        kept.append(ref)
    return kept
