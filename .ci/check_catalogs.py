"""Check the message catalogs: every language complete, nothing a reader could miss.

    python .ci/check_catalogs.py [--translations DIR] [--source ROOT]

Fails (exit 1, one line per problem) when:

- a message in the source (templates and Python, as `make translations` extracts them) is
  missing from a catalog, untranslated (any plural form empty) or marked fuzzy;
- a catalog keeps an obsolete entry (`#~`) or a message no longer in the source;
- a translation's placeholders differ from the original's, or a plural message has the wrong
  number of forms for its language (Babel's own checkers);
- a `_()`-family call in Python or in a template is given something other than a plain string
  (an f-string, a concatenation, `%` or `.format()` inside the call): such a message is never
  extracted, so nobody can translate it.

`make lint` runs this; tests/core/test_catalogs.py runs it on a deliberately broken catalog.
"""

import argparse
import ast
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po
from jinja2 import Environment, nodes

ROOT = Path(__file__).resolve().parent.parent
PYTHON_CALLS = {"_", "_l", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext"}
TEMPLATE_CALLS = {"_", "gettext", "ngettext"}


def extracted(source):
    """The catalog template of the source tree, as `make translations` builds it."""
    pybabel = Path(sys.executable).parent / "pybabel"
    with tempfile.TemporaryDirectory() as folder:
        pot = Path(folder) / "messages.pot"
        subprocess.run(
            [str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext"]
            + ["--omit-header", "-o", str(pot), "."],
            cwd=source,
            check=True,
            capture_output=True,
            timeout=120,
        )
        with open(pot, "rb") as f:
            return read_po(f)


def python_problems(path, shown):
    """Calls of _() and friends whose message argument is not a literal string."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except SyntaxError as error:
        return [f"{shown}:{error.lineno}: does not parse: {error.msg}"]
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in PYTHON_CALLS or not node.args:
            continue
        count = 2 if "ngettext" in name else 1
        for argument in node.args[:count]:
            if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                found.append(
                    f"{shown}:{node.lineno}: {name}() is given {type(argument).__name__}, "
                    "not a plain string: the message is never extracted"
                )
    return found


def template_problems(path, shown, env):
    try:
        tree = env.parse(path.read_text(encoding="utf-8"))
    except Exception as error:  # a template Jinja cannot parse fails the app anyway
        return [f"{shown}: does not parse: {error}"]
    found = []
    for call in tree.find_all(nodes.Call):
        if not isinstance(call.node, nodes.Name) or call.node.name not in TEMPLATE_CALLS:
            continue
        count = 2 if call.node.name == "ngettext" else 1
        for argument in call.args[:count]:
            if not (isinstance(argument, nodes.Const) and isinstance(argument.value, str)):
                found.append(
                    f"{shown}:{call.lineno}: {call.node.name}() is given "
                    f"{type(argument).__name__}, not a plain string: the message is never "
                    "extracted"
                )
    return found


def source_problems(source):
    # Parsed, never rendered: autoescape only keeps the environment like the app's.
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    found = []
    for path in sorted((source / "petition").rglob("*.py")):
        found += python_problems(path, path.relative_to(source))
    for path in sorted((source / "templates").rglob("*")):
        if path.suffix in (".html", ".txt"):
            found += template_problems(path, path.relative_to(source), env)
    return found


def complete(message):
    strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
    return all(strings)


def catalog_problems(po_path, wanted, shown):
    with open(po_path, "rb") as f:
        catalog = read_po(f)
    found = []
    have = {message.id: message for message in catalog if message.id}
    for key in wanted:
        message = have.get(key)
        label = key[0] if isinstance(key, tuple) else key
        if message is None:
            found.append(f"{shown}: missing {label!r} (run `make translations`)")
        elif message.fuzzy:
            found.append(f"{shown}: fuzzy {label!r}")
        elif not complete(message):
            found.append(f"{shown}: untranslated {label!r}")
    for key in have.keys() - wanted:
        label = key[0] if isinstance(key, tuple) else key
        found.append(f"{shown}: {label!r} is no longer in the source (run `make translations`)")
    for key in catalog.obsolete:
        label = key[0] if isinstance(key, tuple) else key
        found.append(f"{shown}: obsolete entry {label!r} (delete the #~ lines)")
    for message, errors in catalog.check():
        for error in errors:
            label = message.id[0] if isinstance(message.id, tuple) else message.id
            found.append(f"{shown}: {label!r}: {error}")
    return found


def problems(source, translations):
    found = source_problems(source)
    wanted = {message.id for message in extracted(source) if message.id}
    catalogs = sorted(translations.glob("*/LC_MESSAGES/messages.po"))
    if not catalogs:
        found.append(f"{translations}: no catalogs")
    for po_path in catalogs:
        found += catalog_problems(po_path, wanted, po_path.parent.parent.name)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT)
    parser.add_argument("--translations", type=Path, default=None)
    args = parser.parse_args(argv)
    translations = args.translations or args.source / "petition" / "translations"
    found = problems(args.source, translations)
    for line in found:
        print(line)
    if found:
        print(f"catalog check: {len(found)} problem(s)", file=sys.stderr)
        return 1
    print(f"catalog check: {len(list(translations.glob('*/LC_MESSAGES/messages.po')))} catalogs OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
