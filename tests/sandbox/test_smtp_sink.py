"""sandbox.smtp_sink: the local SMTP sink, spoken to over a plain socket (no smtplib)."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from sandbox.smtp_sink import LocalMailbox, read_maildir, serve_forever


class Client:
    """A minimal SMTP client over a socket, enough to send raw SMTPUTF8 / 8BITMIME bytes."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection((host, port), timeout=5)
        self.file = self.sock.makefile("rb")
        self.banner = self.reply()

    def reply(self) -> list[str]:
        lines = []
        while True:
            line = self.file.readline().decode("utf-8").rstrip("\r\n")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return lines

    def cmd(self, line: str) -> list[str]:
        self.sock.sendall(line.encode("utf-8") + b"\r\n")
        return self.reply()

    def send(self, mail_from: str, rcpts: list[str], data: bytes, options: str = " SMTPUTF8 BODY=8BITMIME") -> list[str]:
        assert self.cmd(f"MAIL FROM:<{mail_from}>{options}")[0].startswith("250")
        for rcpt in rcpts:
            assert self.cmd(f"RCPT TO:<{rcpt}>")[0].startswith("250")
        assert self.cmd("DATA")[0].startswith("354")
        lines = data.replace(b"\r\n", b"\n").removesuffix(b"\n").split(b"\n")
        stuffed = b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines)
        self.sock.sendall(stuffed + b"\r\n.\r\n")
        return self.reply()

    def close(self) -> None:
        self.cmd("QUIT")
        self.file.close()
        self.sock.close()


def plain_message(subject: str, body: str = "Nội dung") -> bytes:
    return (
        f"From: a@example.gov.vn\r\nTo: b@example.gov.vn\r\nSubject: {subject}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def test_port_zero_binds_a_free_port_and_advertises_utf8(tmp_path: Path) -> None:
    box = LocalMailbox(tmp_path / "mail")
    with pytest.raises(RuntimeError, match="not started"):
        _ = box.port
    with box:
        assert box.port > 0
        client = Client(box.port)
        assert client.banner[0].startswith("220")
        ehlo = client.cmd("EHLO tester.local")
        client.close()
    keywords = {line[4:].split()[0] for line in ehlo}
    assert {"8BITMIME", "SMTPUTF8"} <= keywords
    assert "AUTH" not in keywords and "STARTTLS" not in keywords
    assert box.handler.connections == 1
    assert {p.name for p in (tmp_path / "mail").iterdir()} == {"tmp", "new", "cur"}


def test_utf8_message_round_trips(tmp_path: Path) -> None:
    raw = (
        "From: Phòng Quản lý nhà <qln@sxd.example.gov.vn>\r\n"
        "To: Xã Thái Phúc <thaiphuc@example.gov.vn>\r\n"
        "Subject: Nhắc hạn báo cáo: Kế hoạch 74/KH-SXD – còn 3 ngày\r\n"
        "Message-ID: <x1@plan-cascade.test>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Kính gửi Xã Thái Phúc,\r\n.dòng bắt đầu bằng dấu chấm\r\n"
    ).encode()
    with LocalMailbox(tmp_path / "mail") as box:
        client = Client(box.port)
        client.cmd("EHLO tester.local")
        reply = client.send("qln@sxd.example.gov.vn", ["thủquỹ@example.gov.vn"], raw)
        client.close()
    assert reply[0].startswith("250")
    [message] = read_maildir(tmp_path / "mail")
    assert message["Subject"] == "Nhắc hạn báo cáo: Kế hoạch 74/KH-SXD – còn 3 ngày"
    assert message["From"].addresses[0].display_name == "Phòng Quản lý nhà"
    assert message["To"].addresses[0].display_name == "Xã Thái Phúc"
    assert message["Message-ID"] == "<x1@plan-cascade.test>"
    assert message.get_content() == "Kính gửi Xã Thái Phúc,\r\n.dòng bắt đầu bằng dấu chấm\r\n"
    assert message["X-RcptTo"] == "thủquỹ@example.gov.vn"
    assert message["X-MailFrom"] == "qln@sxd.example.gov.vn"
    [envelope] = box.handler.envelopes
    assert envelope.smtp_utf8
    assert envelope.rcpt_tos == ("thủquỹ@example.gov.vn",)


def test_messages_are_read_in_arrival_order_from_new_and_cur(tmp_path: Path) -> None:
    maildir = tmp_path / "mail"
    with LocalMailbox(maildir) as box:
        client = Client(box.port)
        client.cmd("EHLO tester.local")
        for i in range(12):
            client.send("a@example.gov.vn", ["b@example.gov.vn"], plain_message(f"Thư {i}"))
        client.close()
        assert [m["Subject"] for m in box.messages()] == [f"Thư {i}" for i in range(12)]
    # A mail client that has seen a message moves it to cur/ and adds flags.
    first = sorted((maildir / "new").iterdir())[0]
    first.rename(maildir / "cur" / (first.name + ":2,S"))
    assert [m["Subject"] for m in read_maildir(maildir)] == [f"Thư {i}" for i in range(12)]
    assert len(box.handler.envelopes) == 12 and box.handler.connections == 1


def test_fixed_port_is_released_on_stop(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = LocalMailbox(tmp_path / "mail", port=port).start()
    try:
        assert box.port == port
        with pytest.raises(OSError):
            LocalMailbox(tmp_path / "other", port=port).start()
    finally:
        box.stop()
    box.stop()  # stopping twice is harmless
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with LocalMailbox(tmp_path / "mail", port=port) as again:  # the port is free again
        assert again.port == port


def test_serve_forever_until_stopped(tmp_path: Path) -> None:
    stop = threading.Event()
    ready: list[LocalMailbox] = []
    got_ready = threading.Event()

    def on_ready(box: LocalMailbox) -> None:
        ready.append(box)
        got_ready.set()

    thread = threading.Thread(target=serve_forever, args=(tmp_path / "mail", "127.0.0.1", 0), kwargs={"on_ready": on_ready, "stop": stop})
    thread.start()
    try:
        assert got_ready.wait(10)
        client = Client(ready[0].port)
        try:
            client.cmd("HELO tester.local")  # plain SMTP: no SMTPUTF8 / BODY= parameters
            reply = client.send("a@example.gov.vn", ["b@example.gov.vn"], plain_message("Xin chào"), options="")
        finally:
            client.close()
        assert reply[0].startswith("250")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert [m["Subject"] for m in read_maildir(tmp_path / "mail")] == ["Xin chào"]
    assert ready[0].handler.connections == 1


def test_read_maildir_of_an_existing_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    os.makedirs(folder)
    assert read_maildir(folder) == []
    with LocalMailbox(folder) as box:  # creates tmp/new/cur inside an existing folder
        assert box.messages() == []
