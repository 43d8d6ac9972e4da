"""Typed settings for plan-cascade, read from the environment, `.env` and `cascade.toml`.

Every value has an embedded default so that `cascade demo` runs with no setup: a SQLite
file in the workspace folder and a local SMTP sink on 127.0.0.1. Production points the same
names at a real database and SMTP server (environment variables prefixed `CASCADE_`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """All configuration in one place; secrets are `SecretStr` and never logged."""

    model_config = SettingsConfigDict(
        env_prefix="CASCADE_",
        env_file=".env",
        env_file_encoding="utf-8",
        toml_file="cascade.toml",
        extra="ignore",
    )

    workspace: Path = Field(Path("workspace"), description="Folder for the database, reports and attachments.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; defaults to a SQLite file in the workspace.")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_user: str = "cascade@plan-cascade.local"
    smtp_password: SecretStr | None = None
    smtp_ssl: bool = False
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 30.0

    mail_from_name: str = "Hệ thống theo dõi thực hiện kế hoạch"
    mail_reply_to: str | None = Field(None, description="Mailbox that receives the units' replies.")
    mail_domain: str | None = Field(None, description="Right-hand side of the Message-IDs we generate; default: the domain of smtp_user, the sender's.")
    secretariat_email: str | None = Field(None, description="The secretariat's mailbox: escalation digests of the root plans, quarantine alerts.")
    admin_emails: list[str] = Field(default_factory=list, description="Who is told when a flow run fails or crashes (JSON list in the environment).")
    escalate_after_days: int = Field(
        5, ge=0, description="Days after the deadline when units still not reporting are escalated to their heads and the secretariat; 0: never."
    )
    escalate_repeat_days: int = Field(
        7,
        ge=0,
        description="After the first escalation, units still not reporting are escalated again every this many days (escalate-12, escalate-19, …) "
        "until they report or the duty is closed; 0: once.",
    )

    imap_host: str | None = Field(None, description="IMAP server of the reply mailbox (mail_reply_to); without one, replies are not collected.")
    imap_port: int | None = Field(None, description="Default: 993 with imap_security 'ssl', else 143.")
    imap_security: Literal["ssl", "starttls", "none"] = Field("ssl", description="'ssl' (IMAPS), 'starttls', or 'none' (loopback and tests only).")
    imap_user: str | None = Field(None, description="Login of the reply mailbox; default: mail_reply_to.")
    imap_password: SecretStr | None = None
    imap_inbox: str = Field("INBOX", description="Folder the replies arrive in.")
    imap_processed_folder: str = Field("Đã xử lý", description="Replies recorded, or answered with their problems, are moved here.")
    imap_quarantine_folder: str = Field("Cách ly", description="Replies from an address the unit did not register; the secretariat is told.")
    imap_review_folder: str = Field("Cần xem xét", description="Replies set aside for people (no assignment, no form, auto-replies), tagged with the reason.")
    imap_batch_size: int = Field(50, ge=1, description="Messages fetched, recorded and moved by one Prefect task run.")
    imap_max_message_mb: float = Field(40, gt=0, description="Larger messages are set aside unread.")
    imap_timeout_seconds: float = Field(60.0, gt=0)

    outbox_batch_size: int = Field(200, ge=1, description="Emails claimed and sent over one SMTP connection.")
    outbox_connections: int = Field(
        2, ge=1, description="SMTP connections a delivery run sends over at once, a batch each (a provider may cap them: 1 for one at a time)."
    )
    outbox_commit_every: int = Field(
        20, ge=1, description="Sent messages recorded per commit: after a crash at most this many are sent again (1: only the one in flight)."
    )
    outbox_retry_hours: float = Field(
        72, ge=0, description="A message the server refuses for now (network, 4xx) is tried again for this long after its first attempt, then marked failed."
    )
    outbox_retry_max_seconds: int = Field(3600, ge=0, description="Longest wait between two attempts (the backoff doubles up to this).")
    outbox_lease_seconds: int = Field(600, ge=0, description="After this, a message left 'sending' by a crashed run is claimed again.")
    outbox_retry_base_seconds: int = Field(60, ge=0, description="Backoff after a failed attempt: base × 2^(attempts-1).")
    smtp_per_minute: int | None = Field(None, ge=1, description="Most messages sent in any 60 seconds (the mail provider's rate); none: no limit.")
    smtp_per_day: int | None = Field(
        None, ge=1, description="Most messages sent on one day (Vietnam time); the rest wait for the next day, best priority first."
    )
    smtp_wait_max_seconds: float = Field(
        300, ge=0, description="Longest a delivery run waits for the per-minute limit before leaving the rest to the next run."
    )

    prefect_api_url: str | None = Field(None, description="Flow runs report to this Prefect server (http://host:4200/api) instead of the workspace's own.")
    prefect_database_url: str | None = Field(
        None, description="Database of the workspace's Prefect server (postgresql+asyncpg://…); default: SQLite in workspace/prefect."
    )

    command_server: bool = Field(
        True,
        description="Keep a process with Prefect and the flows loaded beside the workspace's Prefect server: commands started in the same folder "
        "and environment run in it without loading anything (CASCADE_COMMAND_SERVER=off runs a single command in its own process).",
    )

    input_max_mb: float = Field(20, gt=0, description="Largest input file read (units, plan, submission, form): larger ones are refused unread.")
    input_max_unpacked_mb: float = Field(
        50, gt=0, description="Most an Excel workbook (.xlsx) may unpack to; checked on its zip directory before it is opened."
    )
    input_max_zip_ratio: int = Field(
        100, ge=2, description="Most a part of a workbook larger than 1 MB may unpack to, as a multiple of its packed size (a decompression bomb beyond)."
    )
    input_max_zip_entries: int = Field(1000, ge=10, description="Most files (parts) in a workbook's package.")
    input_max_sheets: int = Field(50, ge=1, description="Most sheets in a workbook.")
    input_max_cells: int = Field(2_000_000, ge=1000, description="Most cells read from one workbook (rows × columns read).")
    input_max_yaml_aliases: int = Field(100, ge=0, description="Most aliases (*name) in one YAML file.")
    input_max_yaml_values: int = Field(
        1_000_000, ge=1000, description="Most values a YAML file may hold once its aliases are expanded (a 'billion laughs' file beyond)."
    )

    report_pdf: bool = Field(False, description="Also make a PDF of each consolidated report (LibreOffice, about 2 s a report).")

    cascade_batch_size: int = Field(500, ge=1, description="Units handled by one Prefect task run.")
    portal_base_url: str = Field("http://127.0.0.1:8765", description="Public address of the portal: the start of every link in the emails.")
    portal_secret: SecretStr | None = Field(None, description="Key for CSRF tokens and login sessions; default: a random key kept in the workspace.")
    portal_link_days_after_close: int = Field(30, ge=0, description="A unit's link still shows its page (read-only) this many days after the cycle closes.")
    portal_max_request_mb: float = Field(25, gt=0, description="Largest request the portal reads (a page with its evidence); larger ones get 413 unread.")
    portal_max_file_mb: float = Field(10, gt=0, description="Largest evidence file.")
    portal_max_files: int = Field(20, ge=1, description="Most evidence files on one report version.")
    portal_throttle_free: int = Field(5, ge=0, description="Bad links or logins from one address before answers slow down.")
    portal_throttle_block: int = Field(
        50, ge=1, description="Bad attempts (in 15 minutes) after which 429 answers: sign-ins per address; unknown links per address and link pattern."
    )
    portal_throttle_address_block: int = Field(
        1000, ge=1, description="Unknown links from one address (in 15 minutes, whatever they start with) after which its unknown links get 429."
    )
    portal_throttle_delay_seconds: float = Field(0.5, ge=0, description="First delay once slowed; doubles with each further bad attempt, up to 8 s.")
    dashboard_user: str = Field(
        "vanphong", description="Login name of the workspace's built-in admin (every unit; accounts are added with `cascade accounts add`)."
    )
    dashboard_password: SecretStr | None = Field(None, description="Password of the built-in admin; without one only accounts sign in.")
    session_hours: float = Field(8, gt=0, description="A sign-in lasts at most this long.")
    session_idle_minutes: float = Field(60, gt=0, description="A sign-in not used for this long ends.")
    sign_in_link_minutes: float = Field(15, gt=0, description="A sign-in link sent by email works once, within this many minutes.")
    password_min_length: int = Field(10, ge=8, description="Shortest password an account may set.")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.workspace / 'cascade.db').resolve()}"

    @property
    def message_id_domain(self) -> str:
        """The domain our Message-IDs end with: `mail_domain`, else the sending account's own domain."""
        return self.mail_domain or self.smtp_user.rpartition("@")[2] or "localhost"

    @property
    def resolved_imap_port(self) -> int:
        return self.imap_port or (993 if self.imap_security == "ssl" else 143)

    @property
    def resolved_imap_user(self) -> str | None:
        return self.imap_user or self.mail_reply_to

    @property
    def reports_dir(self) -> Path:
        return self.workspace / "reports"

    @property
    def documents_dir(self) -> Path:
        """Word and Excel documents sent with the assignments: one folder per plan, one per unit below it."""
        return self.workspace / "documents"

    @property
    def attachments_dir(self) -> Path:
        return self.workspace / "attachments"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls),
            file_secret_settings,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after changing the environment."""
    return Settings()
