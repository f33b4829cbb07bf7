"""Ports for local servers started later never come from the kernel's ephemeral range (where
port-0 binds and outgoing connections take theirs) and are never handed out twice."""

from __future__ import annotations

import socket

from scripts.fixtures.servers import _ephemeral_range, free_port


def test_ports_are_distinct_bindable_and_below_the_ephemeral_range() -> None:
    low, _ = _ephemeral_range()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(1024 < p < low for p in ports)
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports[-1]))


def test_a_port_in_use_is_skipped() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", free_port()))
        s.listen()
        taken = s.getsockname()[1]
        assert all(free_port() != taken for _ in range(20))


def test_a_port_zero_server_never_gets_a_handed_out_port() -> None:
    handed = {free_port() for _ in range(20)}
    servers = [socket.create_server(("127.0.0.1", 0)) for _ in range(50)]
    try:
        assert not handed & {s.getsockname()[1] for s in servers}
    finally:
        for s in servers:
            s.close()
