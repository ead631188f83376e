"""Why a link failed, in the window's language: the link gives a cause code
(``LinkInfo.cause``), the views say it (a desk refused for a wrong key read "the server
refused the link key" in English on a Chinese screen)."""

from __future__ import annotations

import re

from app.comms.linkstate import LinkCause, LinkInfo, LinkState, cause_of
from app.protocol.connection import LinkRefused
from ui.linkhealth import link_cause_text

LATIN = re.compile(r"[A-Za-z]{3,}")


def info(cause: LinkCause, param: str = "") -> LinkInfo:
    return LinkInfo(
        "A", "A", "127.0.0.1", 1, LinkState.DOWN, last_error="English detail",
        cause=cause.value, cause_param=param,
    )  # fmt: skip


def test_every_cause_is_said_in_chinese(chinese: object) -> None:
    for cause in LinkCause:
        if cause is LinkCause.NONE:
            continue
        text = link_cause_text(info(cause, "3"))
        assert text != "English detail", cause
        assert not LATIN.search(text), (cause, text)
    assert link_cause_text(info(LinkCause.REFUSED, "link_key")) == "服务器拒绝了链路密钥"


def test_a_link_without_a_cause_shows_its_last_error() -> None:
    assert link_cause_text(info(LinkCause.NONE)) == "English detail"


def test_exceptions_become_causes() -> None:
    assert cause_of(LinkRefused("link_key", "x")) == (LinkCause.REFUSED, "link_key")
    assert cause_of(ConnectionRefusedError(111, "refused"))[0] is LinkCause.CONNECTION_REFUSED
    assert cause_of(TimeoutError())[0] is LinkCause.TIMEOUT
    assert cause_of(OSError(113, "No route to host")) == (LinkCause.NETWORK, "No route to host")
