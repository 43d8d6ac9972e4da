"""Dev-only: the demo, a local SMTP sink and IMAP server, and simulated units. Production code never imports this package."""
