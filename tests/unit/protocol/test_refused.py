"""REFUSED (sans-I/O): a server tells a client why its HELLO was refused, as a code; the
client says it in words and ends the link; nobody else may send or act on it."""

from __future__ import annotations

import json
import secrets

import pytest

from app.protocol.connection import REFUSAL_TEXT, TOLD, Connection, LinkRefusal
from app.protocol.frames import MessageType, encode_frame
from app.protocol.messages import Hello
from app.protocol.security import IntegrityError, LinkKeys, LinkPolicy, NonceCache

KEY = LinkKeys((("k1", secrets.token_bytes(32)),))
HELLO = Hello("WS-1", "dispatcher", "L", "d", dispatcher="x")


def refuse_hello(client: Connection) -> IntegrityError:
    server = Connection(policy=LinkPolicy(KEY), side="server", nonces=NonceCache(4000))
    server.receive_data(client.send(HELLO))
    with pytest.raises(IntegrityError) as caught:
        server.next_event()
    told = server.refusal(caught.value)
    assert told is not None
    client.receive_data(told)
    with pytest.raises(IntegrityError) as said:
        client.next_event()
    assert said.value.fatal and said.value.kind == "refused"
    return said.value


def test_a_wrong_or_missing_key_is_told_as_the_link_key() -> None:
    wrong = Connection(policy=LinkPolicy(LinkKeys((("k1", bytes(32)),))))
    assert refuse_hello(wrong).message == "the server refused the link key"
    assert refuse_hello(Connection()).message == "the server refused the link key"
    assert set(TOLD.values()) == set(LinkRefusal) == set(REFUSAL_TEXT)


def test_a_check_not_in_the_table_is_not_told_and_refused_is_only_for_a_client() -> None:
    server = Connection(policy=LinkPolicy(KEY), side="server")
    assert server.refusal(IntegrityError("repeat", "replayed", "HELLO.nonce", fatal=True)) is None
    client = Connection(policy=LinkPolicy(KEY))
    assert client.refusal(IntegrityError("mac", "x", "trailer.tag", fatal=True)) is None
    body = json.dumps({"code": "link_key"}).encode()
    # a server never accepts one
    server.receive_data(encode_frame(MessageType.REFUSED, 0, body))
    with pytest.raises(IntegrityError, match="outside a client's handshake"):
        server.next_event()
    # an unknown code is still a refusal, said with its code
    client.send(HELLO)
    client.receive_data(encode_frame(MessageType.REFUSED, 0, json.dumps({"code": "x"}).encode()))
    with pytest.raises(IntegrityError, match="refused the link \\('x'\\)"):
        client.next_event()
