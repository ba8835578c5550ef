"""One exception type for "the user's input is wrong": config, data or request."""


class UserError(Exception):
    """Bad input from the user. Entry points print it as one line and exit non-zero.

    The message names what is wrong and where (file, column, row or key) and what was expected.
    """
