"""A local IMAP server for demos and tests: Debian's Dovecot with one mailbox, and SMTP delivery into it.

`LocalImapServer` runs `dovecot -F` on 127.0.0.1 with a throwaway configuration (plaintext,
password file, maildir): the same server a secretariat's mail host may run, minus TLS. It is not
a production setup. `ImapDelivery` is what a mail server's local delivery does for the reply
mailbox: a message for `baocao@…` or `baocao+TAG@…` is appended to the mailbox's INBOX with the
`Return-Path` and `Delivered-To` lines a mail server adds; `sandbox.smtp_sink.LocalMailbox` calls it
for those recipients, so replies reach the mailbox through a real SMTP hop.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from imap_tools import MailBoxUnencrypted

from cascade.net import free_port

DOVECOT_PACKAGE = "dovecot-imapd"


class DovecotMissing(RuntimeError):
    """Dovecot is not installed: `make test` and `make demo` install it (apt-get) when run as root."""


def dovecot_binary() -> str:
    found = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
    if found is None:
        raise DovecotMissing(f"Dovecot is not installed: apt-get install {DOVECOT_PACKAGE} (make test and make demo do it when run as root)")
    return found


def _config(root: Path, port: int, passwd: Path, uid: int) -> str:
    if os.geteuid() == 0:
        # Dovecot refuses to open mail as root: the mailbox belongs to 'nobody', its helpers to Debian's users.
        users = "default_login_user = dovenull\ndefault_internal_user = dovecot\n"
        chroot = ""
    else:  # an unprivileged Dovecot runs every process as its caller and cannot chroot
        me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
        users = f"default_login_user = {me}\ndefault_internal_user = {me}\ndefault_internal_group = {group}\n"
        chroot = "  chroot =\n"
    return f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = {uid}
mail_location = maildir:~/Maildir
{users}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {passwd}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
# No growing delay after a failed login (tests log in with a wrong password on purpose).
service anvil {{
{chroot}  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


class LocalImapServer:
    """Dovecot serving one mailbox (`user`/`password`) on 127.0.0.1:`port` (0: a free port); a context manager.

    Its files live in a fresh folder (mode 755: Dovecot's auth process must reach them, which a
    0700 pytest tmp dir would forbid), removed on stop. Raises DovecotMissing without Dovecot.
    """

    def __init__(self, user: str = "baocao", password: str = "mat-khau-hop-thu", host: str = "127.0.0.1", port: int = 0) -> None:
        self.user = user
        self.password = password
        self.host = host
        self.port = port or free_port()
        self.root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> str:
        path = self.root / "dovecot.log" if self.root else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    def start(self) -> LocalImapServer:
        binary = dovecot_binary()
        self.root = Path(tempfile.mkdtemp(prefix="cascade-dovecot-"))
        self.root.chmod(0o755)
        for sub in ("run", "state", "home"):
            (self.root / sub).mkdir()
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            uid, gid = nobody.pw_uid, nobody.pw_gid
            os.chown(self.root / "home", uid, gid)
        else:
            uid, gid = os.getuid(), os.getgid()
        passwd = self.root / "passwd"
        passwd.write_text(f"{self.user}:{{PLAIN}}{self.password}:{uid}:{gid}::{self.root / 'home'}::\n")
        conf = self.root / "dovecot.conf"
        conf.write_text(_config(self.root, self.port, passwd, uid))
        self._process = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                self.stop()
                raise RuntimeError(f"Dovecot exited at start: {error.strip()} {self.log.strip()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        log = self.log
        self.stop()
        raise RuntimeError(f"Dovecot did not listen on {self.host}:{self.port} within 15 s: {log.strip()}")

    def stop(self) -> None:
        """Stop Dovecot (waiting for it to exit, so that its port and pid file are free) and remove its files."""
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            if process.stderr is not None:
                process.stderr.close()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> LocalImapServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def empty(self) -> None:
        """Delete every message, and every folder but INBOX: the mailbox as a fresh server has it, without
        the second a restart of Dovecot takes."""
        with MailBoxUnencrypted(self.host, self.port, timeout=30).login(self.user, self.password, initial_folder=None) as box:
            names = [folder.name for folder in box.folder.list()]
            for name in sorted((n for n in names if n != "INBOX"), key=len, reverse=True):  # subfolders first
                box.folder.delete(name)
            box.folder.set("INBOX")
            if uids := box.uids("ALL"):
                box.delete(uids)

    def settings_env(self) -> dict[str, str]:
        """The CASCADE_IMAP_* settings that point the reply collection at this server."""
        return {
            "CASCADE_IMAP_HOST": self.host,
            "CASCADE_IMAP_PORT": str(self.port),
            "CASCADE_IMAP_SECURITY": "none",
            "CASCADE_IMAP_USER": self.user,
            "CASCADE_IMAP_PASSWORD": self.password,
        }

    def delivery(self, address: str) -> ImapDelivery:
        """Local delivery of `address` (and its +tag forms) into this server's INBOX."""
        return ImapDelivery(address, self.host, self.port, self.user, self.password)


class ImapDelivery:
    """Delivers the mail of one address, and of its plus-addressed forms, into an IMAP mailbox by APPEND."""

    def __init__(self, address: str, host: str, port: int, user: str, password: str, folder: str = "INBOX") -> None:
        local, _, domain = address.lower().partition("@")
        self.local, self.domain = local, domain
        self.host, self.port, self.user, self.password, self.folder = host, port, user, password, folder

    def accepts(self, recipient: str) -> bool:
        local, _, domain = recipient.lower().partition("@")
        return domain == self.domain and local.split("+", 1)[0] == self.local

    def deliver(self, raw: bytes, mail_from: str, recipient: str) -> None:
        """Append one message as delivered to `recipient`; raises on any IMAP failure (the SMTP side then answers 451)."""
        trace = f"Return-Path: <{mail_from}>\r\nDelivered-To: {recipient}\r\n".encode()
        with MailBoxUnencrypted(self.host, self.port, timeout=30).login(self.user, self.password, initial_folder=None) as box:
            status, data = box.client.append(self.folder, None, None, trace + raw)
            if status != "OK":
                raise RuntimeError(f"IMAP APPEND to {self.folder} refused: {data!r}")


__all__ = ["DOVECOT_PACKAGE", "DovecotMissing", "ImapDelivery", "LocalImapServer", "dovecot_binary"]
