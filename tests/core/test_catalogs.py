"""The catalog check (.ci/check_catalogs.py, run by `make lint`): passes on the real catalogs,
fails on each kind of broken one."""

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Message
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[2]


def load_check():
    spec = importlib.util.spec_from_file_location(
        "check_catalogs", ROOT / ".ci" / "check_catalogs.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_catalogs", module)
    spec.loader.exec_module(module)
    return module


check = load_check()


@pytest.fixture(scope="module")
def wanted():
    return {m.id for m in check.extracted(ROOT) if m.id}


def test_the_real_catalogs_pass():
    assert check.problems(ROOT, ROOT / "petition" / "translations") == []


def copy_catalog(tmp_path, language="fr"):
    source = ROOT / "petition" / "translations" / language / "LC_MESSAGES" / "messages.po"
    target = tmp_path / language / "LC_MESSAGES" / "messages.po"
    target.parent.mkdir(parents=True)
    shutil.copy(source, target)
    with open(target, "rb") as f:
        return target, read_po(f, locale=language)


def save(path, catalog):
    with open(path, "wb") as f:
        write_po(f, catalog, width=100)


def run(path, wanted):
    return check.catalog_problems(path, wanted, "fr")


def test_an_untranslated_entry_fails(tmp_path, wanted):
    path, catalog = copy_catalog(tmp_path)
    assert run(path, wanted) == []
    catalog["Sign the petition"].string = ""
    save(path, catalog)
    assert run(path, wanted) == ["fr: untranslated 'Sign the petition'"]


def test_a_missing_plural_form_fails(tmp_path, wanted):
    path, catalog = copy_catalog(tmp_path, "ru")
    plural = next(m for m in catalog if m.id and isinstance(m.id, tuple))
    plural.string = (plural.string[0], plural.string[1], "")
    save(path, catalog)
    found = check.catalog_problems(path, wanted, "ru")
    assert f"ru: untranslated {plural.id[0]!r}" in found


def test_fuzzy_obsolete_stale_and_bad_placeholders_fail(tmp_path, wanted):
    path, catalog = copy_catalog(tmp_path)
    catalog["Sign the petition"].flags.add("fuzzy")
    catalog.add("A message nobody writes any more", "Un message")
    catalog.obsolete["Gone"] = Message("Gone", "Parti")
    placeholder = next(m for m in catalog if m.id and "%(title)s" in str(m.id))
    placeholder.string = placeholder.string.replace("%(title)s", "%(titre)s")
    save(path, catalog)
    found = "\n".join(run(path, wanted))
    assert "fr: fuzzy 'Sign the petition'" in found
    assert "'A message nobody writes any more' is no longer in the source" in found
    assert "obsolete entry 'Gone'" in found
    assert "titre" in found


def test_a_message_that_is_never_extracted_fails(tmp_path):
    source = tmp_path / "petition" / "demo.py"
    source.parent.mkdir()
    source.write_text(
        "from flask_babel import gettext as _\n"
        'name = "x"\n'
        'ok = _("Hello %(name)s", name=name)\n'
        'bad = _(f"Hello {name}")\n'
        'joined = _("Hello " + name)\n',
        encoding="utf-8",
    )
    template = tmp_path / "templates" / "page.html"
    template.parent.mkdir()
    template.write_text('{{ _("Fine") }} {{ _("Hi " ~ name) }} {{ _(title) }}', encoding="utf-8")
    found = check.source_problems(tmp_path)
    assert [line.split(": ")[0] for line in found] == [
        "petition/demo.py:4",
        "petition/demo.py:5",
        "templates/page.html:1",
        "templates/page.html:1",
    ]
