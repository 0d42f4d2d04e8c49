"""Email channel: IMAP or LMTP in, SMTP out, the intake form and reply reading."""

from bots.email import adapter as adapter  # registers the channel
