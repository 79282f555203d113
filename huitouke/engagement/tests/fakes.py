"""Local stand-ins for the outside world: the fake SMS providers (huitouke.testing.fake_sms) and a real SMTP
server (aiosmtpd), both on free local ports, recording what they were sent."""

from __future__ import annotations

import socket

from aiosmtpd.controller import Controller

from huitouke.testing.fake_sms import FakeSmsServer, Recorded

__all__ = ["FakeSmsServer", "Recorded", "SmtpSink", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """A real SMTP server (aiosmtpd) keeping every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's naming)
        self.envelopes.append(envelope)
        return "250 OK"

    @property
    def port(self) -> int:
        return self.controller.port

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
