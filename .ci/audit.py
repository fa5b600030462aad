"""Check every pinned package (constraints.txt) against the known-vulnerability databases.

    python .ci/audit.py [constraints.txt]

Exit 1 when a pinned version has a known vulnerability (unless its id is listed, with a reason,
in .ci/audit-ignore.txt). When a package cannot be checked (the vulnerability service is
unreachable, or does not answer for that version), print a loud "AUDIT NOT RUN" line naming
the packages and the reason, and exit 0: an outage of someone else's service must not block
every merge, but nobody may mistake it for a clean audit.

First pip-audit asks PyPI per pinned version (/pypi/NAME/VERSION/json). Packages it could not
check are asked again at the project endpoint (/pypi/NAME/json), whose vulnerability list is
that of the latest release: it settles a package pinned at the latest release and no other.
"""

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPI = os.environ.get("AUDIT_PYPI_URL", "https://pypi.org/pypi")
IGNORE_FILE = ROOT / ".ci" / "audit-ignore.txt"
TIMEOUT = 20


def pins(path):
    """{normalized name: version} of every `name==version` line."""
    found = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*([A-Za-z0-9._-]+)(\[[^\]]*\])?==([^\s;#]+)", line)
        if match:
            found[normalize(match.group(1))] = match.group(3)
    return found


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def ignored_ids(path=IGNORE_FILE):
    """Vulnerability ids accepted on purpose: one per line, `ID  # why`."""
    if not path.exists():
        return set()
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return {line for line in lines if line}


def run_pip_audit(requirements):
    """pip-audit's JSON report of the pinned file, or (None, why it gave none)."""
    command = [
        str(Path(sys.executable).parent / "pip-audit"),
        "--requirement",
        str(requirements),
        # The file pins every package, transitive ones included: audit exactly those, with no
        # resolver run (which would need a scratch virtualenv and pip).
        "--no-deps",
        "--disable-pip",
        "--format",
        "json",
        "--progress-spinner",
        "off",
    ]
    try:
        done = subprocess.run(  # noqa: S603 (a fixed command)
            command, capture_output=True, text=True, timeout=600, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"pip-audit did not run: {exc}"
    try:
        return json.loads(done.stdout), None
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"pip-audit failed (exit {done.returncode}): {last[:300]}"


def project_vulns(name, version, base=PYPI):
    """Known vulnerabilities of name==version from the project endpoint, or (None, why not)."""
    try:
        with urllib.request.urlopen(f"{base}/{name}/json", timeout=TIMEOUT) as response:  # noqa: S310
            data = json.load(response)
    except urllib.error.HTTPError as exc:
        return None, f"PyPI has no answer for {name}: HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, f"PyPI unreachable: {exc}"
    latest = data.get("info", {}).get("version")
    if latest != version:
        return None, f"PyPI answers only for the latest release ({latest}), pinned {version}"
    vulns = [v for v in data.get("vulnerabilities") or [] if not v.get("withdrawn")]
    return [{"id": v.get("id"), "fix_versions": v.get("fixed_in") or []} for v in vulns], None


def audit(requirements, pip_audit=run_pip_audit, lookup=project_vulns, ignore=frozenset()):
    """Return (exit status, report lines)."""
    pinned = pins(requirements)
    report, failure = pip_audit(requirements)
    checked, vulnerable, unchecked = set(), {}, {}
    for dep in (report or {}).get("dependencies", []):
        name = normalize(dep["name"])
        if "skip_reason" in dep:
            unchecked[name] = dep["skip_reason"]
            continue
        checked.add(name)
        if dep.get("vulns"):
            vulnerable[name] = dep["vulns"]
    for name in pinned:
        if name not in checked and name not in unchecked:
            unchecked[name] = failure or "not in pip-audit's report"

    for name in sorted(unchecked):
        vulns, why = lookup(name, pinned.get(name))
        if vulns is None:
            unchecked[name] = why
            continue
        del unchecked[name]
        checked.add(name)
        if vulns:
            vulnerable[name] = vulns

    lines = []
    found = 0
    for name, vulns in sorted(vulnerable.items()):
        for vuln in vulns:
            if vuln["id"] in ignore:
                lines.append(f"audit: {name} {pinned.get(name)}: {vuln['id']} ignored on purpose")
                continue
            found += 1
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed release yet"
            lines.append(f"VULNERABLE: {name} {pinned.get(name)}: {vuln['id']} (fixed in {fixes})")
    if unchecked:
        reasons = sorted(set(unchecked.values()))
        why = "; ".join(reasons[:3]) + (f" (+{len(reasons) - 3} more)" if len(reasons) > 3 else "")
        scope = "" if not checked else f" for {len(unchecked)} of {len(pinned)} pinned packages"
        lines.append(f"AUDIT NOT RUN{scope}: {why}")
        lines.append("  not audited: " + " ".join(sorted(unchecked)))
    lines.append(
        f"audit: {len(checked)} of {len(pinned)} pinned packages checked, "
        f"{found} known vulnerabilities"
    )
    return (1 if found else 0), lines


def main(argv):
    requirements = Path(argv[1] if len(argv) > 1 else ROOT / "constraints.txt")
    status, lines = audit(requirements, ignore=ignored_ids())
    sys.stdout.write("\n".join(lines) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
