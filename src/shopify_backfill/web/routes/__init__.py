"""One module per resource; each has a ``pages`` router (HTML) and an ``api`` router (JSON)."""
