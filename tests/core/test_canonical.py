import pytest

from petition.core.emails import InvalidEmail, check_email

CASES = [
    # typed                                canonical
    ("ana@example.org", "ana@example.org"),
    ("  Ana@Example.ORG  ", "ana@example.org"),
    ("ANA@EXAMPLE.ORG", "ana@example.org"),
    ("ana+petition@example.org", "ana@example.org"),
    ("ana+a+b@example.org", "ana@example.org"),
    ("a.n.a@example.org", "a.n.a@example.org"),  # dots matter outside gmail
    ("A.N.A@gmail.com", "ana@gmail.com"),
    ("ana.souza+ioc@gmail.com", "anasouza@gmail.com"),
    ("Ana.Souza@GoogleMail.com", "anasouza@gmail.com"),
    ("anasouza@googlemail.com", "anasouza@gmail.com"),
    ("olga@bücher.de", "olga@xn--bcher-kva.de"),
    ("olga@BÜCHER.de", "olga@xn--bcher-kva.de"),
    ("olga@xn--bcher-kva.de", "olga@xn--bcher-kva.de"),
    ("иван@пример.рф", "иван@xn--e1afmkfd.xn--p1ai"),
    ("ИВАН@пример.рф", "иван@xn--e1afmkfd.xn--p1ai"),
]

INVALID = [
    "",
    "plainaddress",
    "@example.org",
    "ana@",
    "ana@@example.org",
    "ana@example",
    "ana example@example.org",
    "ana@exa mple.org",
    "<script>@example.org",
    "ana@example.org\n",
    "ana\x00@example.org",
    "a" * 65 + "@example.org",
    "ana@" + "a" * 250 + ".org",
    "ana..souza@example.org",
]


@pytest.mark.parametrize(("typed", "canonical"), CASES)
def test_canonical_email(typed, canonical):
    assert check_email(typed.strip()).canonical == canonical


@pytest.mark.parametrize("typed", INVALID)
def test_invalid_addresses_are_refused(typed):
    with pytest.raises(InvalidEmail):
        check_email(typed)


def test_spellings_of_one_mailbox_agree():
    spellings = ["Ana.Souza@gmail.com", "anasouza+x@googlemail.com", "ANASOUZA@GMAIL.COM"]
    assert len({check_email(s).canonical for s in spellings}) == 1


def test_normalized_keeps_what_the_person_typed_readable():
    # The stored address is what the person typed, normalized; only the key is canonical.
    email = check_email("Ana.Souza+ioc@GMail.com")
    assert email.normalized == "Ana.Souza+ioc@gmail.com"
    assert email.canonical == "anasouza@gmail.com"
