"""Accounts of the secretariats: passwords, sessions, one-time sign-in links, and what each account may see."""
