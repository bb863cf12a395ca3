"""Importing the company register from CSV, and identifier check digits per scheme."""
from __future__ import annotations

import pytest

from tests.test_partners_support import new_che
from tradeportal.partners.identifiers import identifier_prefixes, normalise
from tradeportal.partners.models import RegisterEntry

HEADER = "identifier,name,legal_form,address_line1,address_line2,postcode,town,country,head_office_identifier,branch_number\n"


@pytest.mark.parametrize("value, expected", [
    ("CHE-116.281.710", ("che", "CHE-116.281.710")),
    ("che116281710", ("che", "CHE-116.281.710")),
    ("CHE-116.281.711", None),  # wrong check digit
    ("732 829 320", ("siren", "732829320")),  # SIREN, Luhn
    ("732829321", ("bn", "732829321")),  # not a SIREN (Luhn fails), but nine digits: a Canadian BN
    ("73282932000074", ("siren", "73282932000074")),  # SIRET
    ("73282932000075", None),
    ("35600000000048", ("siren", "35600000000048")),  # La Poste's SIRET rule
    ("BE 0403.170.701", ("be", "0403.170.701")),  # modulus 97
    ("0403.170.702", None),
    ("12345678", None),
])
def test_identifiers_and_check_digits(value, expected):
    assert normalise(value) == expected


def test_schemes_are_configurable(app, monkeypatch):
    from tradeportal.partners.identifiers import accepted_schemes

    monkeypatch.setitem(app.config, "IDENTIFIER_SCHEMES", ["che"])
    with app.app_context():
        assert normalise("732829320", accepted_schemes()) is None
        assert normalise("CHE-116.281.710", accepted_schemes())
        monkeypatch.setitem(app.config, "IDENTIFIER_SCHEMES", ["xx"])
        with pytest.raises(ValueError):
            accepted_schemes()


def test_config_reads_the_environment(monkeypatch):
    from tradeportal.config import load_config

    monkeypatch.setenv("TRADEPORTAL_IDENTIFIER_SCHEMES", "che, BE")
    assert load_config({"SECRET_KEY": "x"})["IDENTIFIER_SCHEMES"] == ["che", "be"]
    monkeypatch.delenv("TRADEPORTAL_IDENTIFIER_SCHEMES")
    assert load_config({"SECRET_KEY": "x"})["IDENTIFIER_SCHEMES"] == ["che", "siren", "be", "bn"]


def test_identifier_prefixes():
    assert identifier_prefixes("CHE-116.2") == ["CHE-116.2"]
    assert identifier_prefixes("che1162817") == ["CHE-116.281.7"]
    assert identifier_prefixes("0403170") == ["0403170", "0403.170"]
    assert identifier_prefixes("Alpen") == [] and identifier_prefixes("12") == []


def _run(app, tmp_path, text):
    path = tmp_path / "register.csv"
    path.write_text(text, encoding="utf-8")
    return app.test_cli_runner().invoke(args=["tp", "import-register", str(path)])


def test_import_and_reimport_without_duplicates(app, db, tmp_path):
    head, branch, other = new_che(), new_che(), new_che()
    text = HEADER + (
        f"{head},Alpen Logistik AG,AG,Bahnhofstrasse 1,,3003,Bern,CH,,\n"
        f"{branch},Alpen Logistik AG Zweigniederlassung,AG,Seestrasse 2,,8001,Zürich,ch,{head},0001\n"
    )
    result = _run(app, tmp_path, text)
    assert result.exit_code == 0, result.output
    assert "2 added, 0 updated" in result.output
    db.session.expire_all()
    assert db.session.query(RegisterEntry).count() == 2
    text = HEADER + (
        f"{head.replace('.', '').replace('-', '')},Alpen Logistik SA,SA,Rue du Marché 3,Case postale 4,1201,Genève,CH,,\n"
        f"{other},Jura Textil GmbH,GmbH,Hauptstrasse 9,,2000,Neuchâtel,CH,,\n"
    )
    result = _run(app, tmp_path, text)
    assert result.exit_code == 0, result.output
    assert "1 added, 1 updated" in result.output
    db.session.expire_all()
    assert db.session.query(RegisterEntry).count() == 3
    entry = db.session.query(RegisterEntry).filter_by(identifier=head).one()
    assert (entry.name, entry.name_search, entry.town, entry.address_line2) == ("Alpen Logistik SA", "alpen logistik sa", "Genève", "Case postale 4")
    assert db.session.query(RegisterEntry).filter_by(identifier=branch).one().country == "CH"


def test_bad_rows_are_reported_with_their_line_and_nothing_is_imported(app, db, tmp_path):
    good = new_che()
    text = HEADER + (
        f"{good},Good AG,AG,Weg 1,,3003,Bern,CH,,\n"
        "CHE-116.281.711,Bad Digit AG,AG,Weg 2,,3003,Bern,CH,,\n"
        f"{new_che()},,AG,Weg 3,,3003,Bern,CH,,\n"
        f"{good},Twice AG,AG,Weg 4,,3003,Bern,CH,,\n"
        f"{new_che()},Branch AG,AG,Weg 5,,3003,Bern,CH,{new_che()},\n"
    )
    result = _run(app, tmp_path, text)
    assert result.exit_code != 0
    output = result.output
    assert "line 3:" in output and "check digit" in output
    assert "line 4:" in output and "name is empty" in output
    assert "line 5:" in output and "already on line 2" in output
    assert "line 6:" in output and "branch needs both" in output
    assert "line 2:" not in output
    assert "nothing was imported" in output
    db.session.expire_all()
    assert db.session.query(RegisterEntry).count() == 0


def test_semicolon_files_and_unknown_head_office(app, db, tmp_path):
    text = HEADER.replace(",", ";") + f"{new_che()};Branch AG;AG;Weg 5;;3003;Bern;CH;{new_che()};0002\n"
    result = _run(app, tmp_path, text)
    assert result.exit_code != 0 and "line 2: head office" in result.output
    result = _run(app, tmp_path, "name,identifier\nx,y\n")
    assert result.exit_code != 0 and "missing column" in result.output
