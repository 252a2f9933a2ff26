"""``python -m graphsim``: run the simulator until SIGTERM/SIGINT (for the demo, AWX tests, people without a tenant).

    PYTHONPATH=tests python -m graphsim --tenant tests/graphsim/tenants/demo.yml --port 8443 --env-file /tmp/graphsim.env

Prints ``export NAME=value`` lines (``eval "$(...)"``-able, or parse ``NAME=value`` after ``export ``)
for the variables the collection reads; ``--env-file`` writes the same as plain ``NAME=value`` lines
once the server is listening (written atomically, so a script can wait for the file to appear).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading

from .graph import DEFAULT_LENIENT, check_lenient
from .simulator import DEMO_TENANT, GraphSimulator


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m graphsim", description="HTTPS Microsoft Graph + identity platform simulator")
    parser.add_argument("--tenant", default=DEMO_TENANT, help="tenant YAML file (default: the demo tenant)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443, help="0 picks a free port")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--token-lifetime", type=float, default=3600)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--env-file", help="write NAME=value lines for ENTRA_*/AZURE_* variables here")
    parser.add_argument("--state-file", help="on exit, write the final memberships and the request log (JSON) here")
    parser.add_argument("--verbose", action="store_true", help="print every request to stderr")
    parser.add_argument("--lenient", type=_leniencies, default=DEFAULT_LENIENT,
                        help=f"comma-separated documented behaviours to relax (default: {','.join(sorted(DEFAULT_LENIENT))}); "
                             f"'' serves Graph as documented (docs/simulator.md, \"Leniencies\")")
    return parser.parse_args(argv)


def _leniencies(text: str) -> frozenset:
    try:
        return check_lenient(name.strip() for name in text.split(",") if name.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _write_atomically(path: str, text: str) -> None:
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o600)  # it holds the demo app's secret
    os.replace(temporary, path)


def main(argv=None) -> int:
    args = _parse(argv)
    sim = GraphSimulator(tenant=args.tenant, port=args.port, host=args.host, page_size=args.page_size,
                         token_lifetime=args.token_lifetime, latency=args.latency, seed=args.seed, lenient=args.lenient)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_signal: stop.set())
    with sim:
        env = sim.environment()
        if args.env_file:
            _write_atomically(args.env_file, "".join(f"{k}={v}\n" for k, v in env.items()))
        for name, value in env.items():
            print(f"export {name}={shlex.quote(value)}")
        creds = sim.credentials
        print(f"# graphsim {sim.base_url}: tenant {sim.state.domain} ({sim.tenant_id}); leaver leaver@contoso.com")
        print(f"# certificate PEM (key + cert): {creds['certificate_path']}")
        print(f"# federated token file: {creds['federated_token_file']}")
        print("# stop with Ctrl-C or SIGTERM", flush=True)
        if args.verbose:
            _follow_log(sim, stop)
        stop.wait()
        if args.state_file:
            _write_atomically(args.state_file, json.dumps({
                "snapshot": sim.state.snapshot(),
                "destructive_events": [vars(e) for e in sim.destructive_events],
                "log": [{"method": e.method, "path": e.path, "query": e.query, "status": e.status, "in_batch": e.in_batch,
                         "request_id": e.request_id, "body": e.body} for e in sim.log],
            }, indent=1, default=str))
    return 0


def _follow_log(sim, stop) -> None:
    def follow():
        seen = 0
        while not stop.wait(0.2):
            entries = list(sim.log)
            for entry in entries[seen:]:
                print(f"{entry.status} {entry.method} {entry.path}{' (batch)' if entry.in_batch else ''}", file=sys.stderr)
            seen = len(entries)
    threading.Thread(target=follow, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
