"""Every citizen-facing message id, of every channel: the SMS ones and each channel's own wording.

Channels keep their ids beside their adapters (bot/channels/ussd_messages.py, telegram_messages.py) and build
them from bot/messages.py; this module only puts them together, so that nothing the channels import imports
them back. They share the catalogs, so the catalog tests and docs/texts.md read every id from here.
"""

from __future__ import annotations

from bot.channels.telegram_messages import TELEGRAM_MESSAGES
from bot.channels.ussd_messages import USSD_MESSAGES
from bot.messages import SMS_MESSAGES, Message

MESSAGES: dict[str, Message] = {**SMS_MESSAGES, **USSD_MESSAGES, **TELEGRAM_MESSAGES}
