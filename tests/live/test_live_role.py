"""The offboarding role in check mode against the tenant: `ansible-playbook entra.membership.offboard --check` for the test user.

ansible-playbook runs as its own process with the environment an AWX job with the Azure credential
would have (AZURE_TENANT_ID, AZURE_CLIENT_ID, the secret or certificate, from ENTRA_LIVE_*), where
Graph and the login host are, and what a process needs to run and reach them (PROXY_AND_LOCALE);
nothing else of the caller's environment. Its report goes to a temporary directory.
"""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

from live_modules import discovered, unexpected_results
from live_report import REPORT

PLAYBOOK_TIMEOUT = 900
# What ansible-playbook keeps of the caller's environment: how to run, and how to reach Graph (proxies, a corporate CA).
PROXY_AND_LOCALE = ("HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY",
                    "no_proxy", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


def playbook_environment(live_settings):
    environment = {name: os.environ[name] for name in PROXY_AND_LOCALE if name in os.environ}
    environment.update(live_settings.playbook_environment(),
                       PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
                       ANSIBLE_COLLECTIONS_PATH=os.environ["ANSIBLE_COLLECTIONS_PATH"], ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                       ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    return environment


def test_offboard_role_in_check_mode_plans_every_direct_membership_and_sends_no_write(live_settings, test_user, discovery, tmp_path):
    report_dir = tmp_path / "reports"
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "entra.membership.offboard", "--check",
               "-e", json.dumps({"offboard_users": [test_user["userPrincipalName"]], "offboard_report_dir": str(report_dir)})]
    run = subprocess.run(command, env=playbook_environment(live_settings), cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, check=False, timeout=PLAYBOOK_TIMEOUT)
    previews = glob.glob(str(report_dir / "*PREVIEW*.json"))
    assert len(previews) == 1, "no preview report; ansible-playbook said:\n%s" % run.stdout[-4000:]
    with open(previews[0], encoding="utf-8") as handle:
        plan = json.load(handle)
    user = plan["users"][0]
    REPORT.module_run("entra.membership.offboard --check", {"msg": "%s: %s" % (plan["status"], plan["summary"]), "results": user["memberships"]})

    assert plan["check_mode"] is True and user["id"] == test_user["id"] and user["error"] is None, run.stdout[-4000:]
    assert [line for line in user["memberships"] if line.get("request_id")] == [], "check mode sent a write"
    planned = {(line["target"]["type"], line["target"]["id"]) for line in user["memberships"]}
    kept = {(line["target"]["type"], line["target"]["id"]) for line in user["kept"]}
    direct = {(kind, entry["id"]) for kind in ("group", "administrative_unit", "team") for entry in discovered(discovery["users"][0], kind)}
    assert planned | kept == direct and not planned & kept, "the plan and what it keeps are not the memberships discovery found"
    # An app with read permissions only: every planned removal is a denial predicted from the token, and the run fails for it.
    unexpected = unexpected_results(user["memberships"], "removed", {}, last_owner_allowed=False)
    assert unexpected == [], unexpected
    assert run.returncode == (0 if all(line["status"] == "removed" for line in user["memberships"]) else 2), run.stdout[-4000:]
