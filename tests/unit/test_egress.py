"""The egress policy from the attacker's side: every spelling of a private address a browser
accepts is read as that address and refused; public addresses in the same spellings pass."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import rules
from domain.egress import EgressPolicy, address_of, blocked_reason, canonical_host
from tests.helpers import private_v4, public_v4, spelling

OFF = EgressPolicy()



@given(st.data())
def test_every_spelling_of_a_private_address_is_refused(data: st.DataObject) -> None:
    address = data.draw(private_v4())
    host = data.draw(spelling(address))
    port = data.draw(st.integers(1, 65535))
    path = data.draw(st.sampled_from(["/", "/admin?x=1", "/%2e%2e/", "/#frag"]))
    url = f"http://{host}:{port}{path}"
    parsed = address_of(host)
    assert parsed is not None and blocked_reason(parsed) is not None, (host, parsed)
    with pytest.raises(ValueError, match="allow_private_targets is off"):
        rules.check_public_target(url, OFF)
    rules.check_public_target(url, EgressPolicy(allow_private=True))  # the lab allowance


@given(st.data())
def test_the_same_spellings_of_public_addresses_pass(data: st.DataObject) -> None:
    address = data.draw(public_v4)
    host = data.draw(spelling(address))
    if "2002:" in host and blocked_reason(ipaddress.ip_address(host.strip("[]"))):
        return  # a 6to4 address is public only if its embedded IPv4 is
    assert address_of(host) is not None
    rules.check_public_target(f"https://{host}/", OFF)


@pytest.mark.parametrize("host", [
    "localhost", "localhost.", "LOCALHOST", "foo.localhost", "foo.localhost.",
    "metadata.google.internal", "metadata.google.internal.", "metadata", "anything.internal"])
def test_local_and_metadata_names_are_refused_in_every_form(host: str) -> None:
    with pytest.raises(ValueError, match="local or metadata name"):
        rules.check_public_target(f"http://{host}/", OFF)


@pytest.mark.parametrize("host", ["1.2.3.4.5", "08.0.0.1", "0x", "256.256.256.256",
                                  "1.2.3.0x100000000"])
def test_a_host_ending_in_a_number_that_is_no_address_is_refused(host: str) -> None:
    with pytest.raises(ValueError):
        canonical_host(host)
    with pytest.raises(ValueError):
        rules.check_public_target(f"http://{host}/", OFF)


def test_names_that_look_public_are_left_to_the_resolving_guard() -> None:
    rules.check_public_target("http://example.com/", OFF)  # DNS decides, at connect time
    assert canonical_host("Example.COM.") == "example.com"


@pytest.mark.parametrize(("entry", "address", "port", "allowed"), [
    ("127.0.0.1:8080", "127.0.0.1", 8080, True),
    ("127.0.0.1:8080", "127.0.0.1", 8081, False),
    ("10.0.0.0/8", "10.9.8.7", 22, True),
    ("[::1]:9000", "::1", 9000, True),
    ("10.0.0.0/8", "192.168.1.1", 80, False),
])
def test_the_operators_allow_list(entry: str, address: str, port: int, allowed: bool) -> None:
    policy = EgressPolicy.from_settings(False, [entry])
    assert (policy.refusal(ipaddress.ip_address(address), port) is None) is allowed


@pytest.mark.parametrize("entry", ["nonsense", "10.0.0.0/33", "127.0.0.1:0", "[::1]:70000"])
def test_bad_allow_entries_are_refused(entry: str) -> None:
    with pytest.raises(ValueError):
        EgressPolicy.from_settings(False, [entry])
