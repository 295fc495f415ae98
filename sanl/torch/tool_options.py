"""Option rules the twin's tools share with the C tools, in their words."""

# More engine threads than this is a typo, not a machine (as in sanl/tools).
MAX_THREADS = 256


def threads_problem(threads):
    """None when --threads is in the C tools' range, else their message."""
    if 0 <= threads <= MAX_THREADS:
        return None
    return f"--threads must be from 0 (one per processor) to {MAX_THREADS}, not {threads}"
