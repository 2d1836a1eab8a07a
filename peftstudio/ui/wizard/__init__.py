"""The Training Wizard: one file per page."""
