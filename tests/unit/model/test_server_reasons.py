"""The server's reasons as forms (app/model/server_reasons.py): every form's code is one
docs/protocol.md lists, its template takes exactly its parameters, and a form the
client does not know, or parameters that do not fit, give no template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.model.server_reasons import FORMS, form_parameters, form_template, worded

DOC = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"


def test_every_form_has_a_code_the_protocol_lists() -> None:
    listed = set(re.findall(r"^\| `([a-z_]+)` \| ", DOC.read_text(encoding="utf-8"), re.M))
    codes = {code for code, _ in FORMS.values() if code}
    assert codes <= listed, codes - listed


def test_a_form_is_worded_with_exactly_its_parameters() -> None:
    code, english, params = worded("switch_in_route", switch="W0101", route="R1")
    assert (code, english, params) == (
        "route_locked",
        "switch W0101 is locked in route R1",
        {"switch": "W0101", "route": "R1"},
    )
    assert worded("role_may_not_command", role="observer")[1] == "role 'observer' may not command"
    with pytest.raises(ValueError):
        worded("switch_in_route", switch="W0101")
    with pytest.raises(KeyError):
        worded("no_such_form")


def test_a_view_gets_a_template_only_when_it_fits() -> None:
    assert form_template("route_not_set", {"route": "R1"}) == "route {route} is not set"
    assert form_template("route_not_set", {}) is None
    assert form_template("from_a_newer_server", {}) is None
    assert form_template("", {}) is None
    for form in FORMS:
        names = form_parameters(form)
        assert form_template(form, dict.fromkeys(names, "x")) is not None
