"""Errors a person can act on: the message says what went wrong and how to fix it."""


class ModelDeckError(Exception):
    """A problem the user can fix; pages show the message with st.error, never a traceback."""
