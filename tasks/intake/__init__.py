"""What comes back from the units: submissions recorded as versions, the reply mailbox, forms read back, review."""
