"""Default limits of the web and mail sources, in one place: the library's and the CLI's defaults.

A module without imports, so the CLI can show them in ``--help`` without loading the HTTP stack.
"""

MB = 1 << 20

RETRIES = 6                # retries per request on 5xx, 429, timeouts and passed deadlines
GITHUB_TIMEOUT = 30.0      # seconds per network operation
GITHUB_DEADLINE = 120.0    # seconds for one whole request (a page is well under a second)
MAIL_TIMEOUT = 60.0
MAIL_DEADLINE = 600.0      # a monthly archive of a large list can take minutes on a slow link

MAX_MESSAGE_MB = 16        # a larger message is skipped and counted
MAX_ARCHIVE_MB = 2048      # decompressed bytes of one compressed archive
MAX_DOWNLOAD_MB = 512      # one remote archive as sent
MAX_MONTHS = 600           # monthly archives one run may request (50 years)
