"""The JSON API (`/api/v1/`) for the provincial platforms and officers' scripts, and the
personal API tokens it is called with."""
