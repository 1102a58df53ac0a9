"""Speech recognition: meeting recordings to minutes drafts, and the time they save."""
