"""What a plan is and asks: plan and unit files read and written, lookups, targets, and the contexts templates are filled from."""
