"""Telegram bindings: a Telegram user who proved they hold a phone, and the chat to reach them in."""

from __future__ import annotations

from bot.store.base import StoreBase
from bot.store.codec import as_text


class TelegramBindings(StoreBase):
    """User → phone (a key of its own) and phone → chat and user (in the phone's slot)."""

    async def bind_telegram(self, user_id: int, chat_id: int, msisdn: str) -> None:
        """Tie a Telegram user and their chat to a phone; a newer binding of either side replaces the old.

        The user's key and the phone's are in different slots: the phone's side is written last, so a
        half-done binding (we stopped in between) binds nothing a message could be routed by.
        """
        user_key, phone_key = self.keys.telegram_user(user_id), self.keys.phone_telegram(msisdn)
        previous_phone = await self.lookup(user_key)
        if previous_phone is not None and previous_phone != msisdn:
            old_phone_key = self.keys.phone_telegram(previous_phone)
            if as_text(await self.redis.hget(old_phone_key, "user_id") or b"") == str(user_id):
                await self.redis.delete(old_phone_key)
        previous_user = await self.redis.hget(phone_key, "user_id")
        if previous_user is not None and as_text(previous_user) != str(user_id):
            await self.redis.delete(self.keys.telegram_user(int(as_text(previous_user))))
        # Kept as long as the dialog log: the binding is personal data like the rest of the record.
        await self.redis.set(user_key, msisdn, ex=self.log_retention_seconds)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(phone_key, mapping={"chat_id": str(chat_id), "user_id": str(user_id)})
            pipe.expire(phone_key, self.log_retention_seconds)
            await pipe.execute()

    async def telegram_msisdn(self, user_id: int) -> str | None:
        """The phone a Telegram user proved to hold, if any."""
        return await self.lookup(self.keys.telegram_user(user_id))

    async def telegram_chat(self, msisdn: str) -> int | None:
        """The Telegram chat bound to a phone, if any."""
        value = await self.redis.hget(self.keys.phone_telegram(msisdn), "chat_id")
        return int(as_text(value)) if value is not None else None
