"""The egress policy from the attacker's side: every spelling of a private address a browser
accepts is read as that address and refused; public addresses in the same spellings pass."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import rules
from domain.egress import EgressPolicy, address_of, blocked_reason, canonical_host

OFF = EgressPolicy()

PRIVATE_V4 = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
    "100.64.0.0/10", "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4", "198.18.0.0/15")]


@st.composite
def private_v4(draw: st.DrawFn) -> ipaddress.IPv4Address:
    network = draw(st.sampled_from(PRIVATE_V4))
    offset = draw(st.integers(0, network.num_addresses - 1))
    return ipaddress.IPv4Address(int(network.network_address) + offset)


# drawn from ranges that are all public (11.0.0.0-99.255.255.255, 129.0.0.0-168.255.255.255),
# so the filter below almost never discards one (drawing from the whole space, Hypothesis'
# small-number bias filtered out so many that its health check failed at random)
public_v4 = (st.integers(0x0B000000, 0x63FFFFFF) | st.integers(0x81000000, 0xA8FFFFFF)).map(
    ipaddress.IPv4Address).filter(lambda a: a.is_global and not a.is_multicast)


def _octal(n: int) -> str:
    return "0" + format(n, "o") if n else "0"


@st.composite
def spelling(draw: st.DrawFn, address: ipaddress.IPv4Address) -> str:
    """One of the ways a URL host can name ``address`` (WHATWG IPv4 parsing, IPv6 forms)."""
    a, b, c, d = address.packed
    n = int(address)
    forms = [
        str(address), str(n), hex(n), hex(n).upper().replace("X", "x"),
        ".".join(_octal(x) for x in (a, b, c, d)),
        f"{hex(a)}.{b}.{_octal(c)}.{hex(d)}",
        f"{a}.{(b << 16) | (c << 8) | d}",  # a.b24
        f"{a}.{b}.{(c << 8) | d}",  # a.b.c16
        f"{address}.",  # one trailing dot
        f"[::ffff:{address}]", f"[::ffff:{format(n >> 16, 'x')}:{format(n & 0xFFFF, 'x')}]",
        f"[64:ff9b::{format(n >> 16, 'x')}:{format(n & 0xFFFF, 'x')}]",
        f"[2002:{format(n >> 16, 'x')}:{format(n & 0xFFFF, 'x')}::1]",
    ]
    return draw(st.sampled_from(forms))


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
