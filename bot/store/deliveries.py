"""What the SMS gateways give back: the receipt a gateway that keeps no record of our client ids (Kannel) gave an
SMS, and delivery reports taken without a step (kept beside the dialog until its next save writes them in)."""

from __future__ import annotations

import datetime as dt

from redis.commands.core import AsyncScript

from bot.packing import pack_line
from bot.store.codec import json_line
from bot.store.log import DialogLog
from dialogs.model import dialog_id_of, iso

# A delivery report without a step: marked beside the dialog and logged, unless the dialog is unknown (0), or
# archived (0: nothing is written beside an archived dialog but by a step, bot/store/compaction.py), or its
# reports need a step (0: an SMS of it failed, resends may be waiting), or it was taken already (2).
RECORD_DELIVERY = """
local head = redis.call('GETRANGE', KEYS[1], 0, 0)
if head == '' or head == '\\2' or redis.call('HEXISTS', KEYS[2], '!') == 1 then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[1], '1') == 0 then return 2 end
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[3]))
return 1
"""


class Deliveries(DialogLog):
    """Gateway receipts, and delivery reports taken by one script (logged and fed like a step's records)."""

    _record_delivery: AsyncScript  # RECORD_DELIVERY

    async def gateway_receipt(self, client_id: str) -> str | None:
        """The receipt kept for an SMS a gateway took under this client id (`keep_gateway_receipt`), or None."""
        value = await self.redis.get(self.keys.gateway_receipt(client_id))
        return value.decode() if isinstance(value, bytes) else value

    async def keep_gateway_receipt(self, client_id: str, receipt: str, seconds: int) -> None:
        await self.redis.set(self.keys.gateway_receipt(client_id), receipt, ex=seconds)

    async def record_delivery(self, client_id: str, at: dt.datetime) -> bool:
        """Take a `delivered` report without a step, when nothing but the transcript's status hangs on it.

        True when taken (or taken before); False when a step must take it: the dialog is unknown here, or an
        SMS of it failed (a resend may be waiting for this very report). One script, no lock: what it writes is
        merged into the dialog by the next load, and written into it by the next save.
        """
        try:
            dialog_id = dialog_id_of(client_id)
            keys = [self.keys.dialog(dialog_id), self.keys.deliveries(dialog_id), self.keys.dialog_log(dialog_id)]
        except ValueError:
            return False
        record = {"at": iso(at), "type": "message", "direction": "out", "channel": "sms", "message_id": client_id,
                  "delivery": "delivered"}
        taken = int(await self._record_delivery(keys=keys, args=[client_id, pack_line(json_line(record)),
                                                                 self.log_retention_seconds]))
        if taken == 1:
            fed = [{**record, "dialog_id": dialog_id}]
            async with self.redis.pipeline(transaction=False) as pipe:
                self._copies(pipe, fed, [])
                await pipe.execute()
            self._tell(fed)
        return taken != 0
