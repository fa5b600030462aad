"""The vulnerability audit's verdicts (.ci/audit.py), against a PyPI stand-in on 127.0.0.1."""

import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.live import free_port

spec = importlib.util.spec_from_file_location(
    "ci_audit", Path(__file__).resolve().parent.parent / ".ci" / "audit.py"
)
ci_audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ci_audit)

VULN = {"id": "PYSEC-2099-1", "fixed_in": ["2.0.1"], "withdrawn": None}
# What the stand-in's project endpoint says: latest release and its vulnerabilities.
PROJECTS = {
    "flask": {"info": {"version": "3.1.3"}, "vulnerabilities": []},
    "oldlib": {"info": {"version": "2.0.0"}, "vulnerabilities": [VULN]},
    "newer": {"info": {"version": "9.0.0"}, "vulnerabilities": []},
}


@pytest.fixture(scope="module")
def fake_pypi():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            name = self.path.strip("/").split("/")[0]
            body = json.dumps(PROJECTS[name]).encode() if name in PROJECTS else None
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body or b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def pinned(tmp_path, *lines):
    path = tmp_path / "constraints.txt"
    path.write_text("# pins\n" + "\n".join(lines) + "\n")
    return path


def run(path, report=None, failure=None, base="http://127.0.0.1:9", ignore=frozenset()):
    return ci_audit.audit(
        path,
        pip_audit=lambda _path: (report, failure),
        lookup=lambda name, version: ci_audit.project_vulns(name, version, base=base),
        ignore=ignore,
    )


def test_a_known_vulnerability_fails_the_audit(tmp_path):
    path = pinned(tmp_path, "Flask==3.1.3", "Old_Lib==2.0.0")
    report = {
        "dependencies": [
            {"name": "flask", "version": "3.1.3", "vulns": []},
            {
                "name": "old-lib",
                "version": "2.0.0",
                "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["2.0.1"]}],
            },
        ]
    }
    status, lines = run(path, report)
    assert status == 1
    assert "VULNERABLE: old-lib 2.0.0: GHSA-xxxx (fixed in 2.0.1)" in lines
    assert lines[-1] == "audit: 2 of 2 pinned packages checked, 1 known vulnerabilities"
    # An id accepted on purpose (with a reason, in .ci/audit-ignore.txt) does not fail it.
    status, lines = run(path, report, ignore={"GHSA-xxxx"})
    assert status == 0 and not any(line.startswith("VULNERABLE") for line in lines)


def test_an_unreachable_service_passes_loudly_as_not_run(tmp_path):
    path = pinned(tmp_path, "flask==3.1.3", "oldlib==2.0.0")
    dead = f"http://127.0.0.1:{free_port()}"
    status, lines = run(path, failure="pip-audit failed (exit 1): ConnectionError", base=dead)
    assert status == 0
    assert lines[0].startswith("AUDIT NOT RUN: ")
    assert "PyPI unreachable" in lines[0]
    assert lines[1] == "  not audited: flask oldlib"
    assert lines[-1] == "audit: 0 of 2 pinned packages checked, 0 known vulnerabilities"


def test_packages_pip_audit_skipped_are_settled_by_the_project_endpoint(tmp_path, fake_pypi):
    path = pinned(tmp_path, "flask==3.1.3", "oldlib==2.0.0", "newer==1.0", "psycopg[binary]==3.3.9")
    skipped = "Dependency not found on PyPI and could not be audited"
    report = {"dependencies": [{"name": n, "skip_reason": skipped} for n in ("flask", "oldlib")]}
    status, lines = run(path, report, base=fake_pypi)
    assert status == 1
    assert "VULNERABLE: oldlib 2.0.0: PYSEC-2099-1 (fixed in 2.0.1)" in lines
    # A pin behind the latest release cannot be settled there; an unknown name neither.
    [not_run] = [line for line in lines if line.startswith("AUDIT NOT RUN")]
    assert not_run.startswith("AUDIT NOT RUN for 2 of 4 pinned packages: ")
    assert "(9.0.0), pinned 1.0" in not_run
    assert "  not audited: newer psycopg" in lines
    assert lines[-1] == "audit: 2 of 4 pinned packages checked, 1 known vulnerabilities"
