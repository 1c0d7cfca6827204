"""Mailing-list archives (mbox files, Pipermail, HyperKitty) as records, resumably.

Four modules, one concern each:

* :mod:`.message` -- one message's bytes to a record: header and body decoding;
* :mod:`.archives` -- archive files streamed (plain, gzip, bzip2, zip) and split into
  messages under size caps;
* :mod:`.remote` -- Pipermail indexes, HyperKitty months, and the web client for them;
* :mod:`.scraper` -- the sources (mbox, Pipermail, HyperKitty) that tie them together.

The names most callers need are re-exported here.
"""

from emocause.sources.mail.archives import (MailLimits, default_project, find_archives,
                                            mbox_members, read_mbox, split_mbox)
from emocause.sources.mail.message import (decode_bytes, decode_header_value, html_to_text,
                                           is_bot_address, message_body, parse_message,
                                           parse_sender)
from emocause.sources.mail.remote import (Period, Web, add_months, hyperkitty_message_url,
                                          hyperkitty_months, parse_hyperkitty_url,
                                          pipermail_archives, pipermail_project)
from emocause.sources.mail.scraper import (HyperKittySource, MailSource, MailStats, MboxSource,
                                           PipermailSource)

__all__ = ["HyperKittySource", "MailLimits", "MailSource", "MailStats", "MboxSource", "Period",
           "PipermailSource", "Web", "add_months", "decode_bytes", "decode_header_value",
           "default_project", "find_archives", "html_to_text", "hyperkitty_message_url",
           "hyperkitty_months", "is_bot_address", "mbox_members", "message_body", "parse_message",
           "parse_hyperkitty_url", "parse_sender", "pipermail_archives", "pipermail_project",
           "read_mbox", "split_mbox"]
