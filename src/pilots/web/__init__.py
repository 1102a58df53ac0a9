"""The web UI (``pilots serve``) and the transcription workers (``pilots worker``)."""
