"""Telegram-only citizen-facing messages (their texts are in the kk and ru catalogs)."""

from __future__ import annotations

from bot.messages import N_, Message

TELEGRAM_MESSAGES: dict[str, Message] = {
    # TRANSLATORS: Telegram /start: this is the 1414 bot; share your phone with the button below to go on here.
    N_("telegram.share_phone"): Message((), {}),
    # TRANSLATORS: Telegram: a message from someone who has not shared their phone yet; share it first.
    N_("telegram.not_bound"): Message((), {}),
    # TRANSLATORS: Telegram: the shared contact is someone else's; share your own number with the button.
    N_("telegram.contact_foreign"): Message((), {}),
    # TRANSLATORS: Telegram: no offer waits for this number; offers come by SMS from 1414; questions 1414.
    N_("telegram.contact_unknown"): Message((), {}),
    # TRANSLATORS: Telegram: number confirmed; answer here by button or text; consent request and decision also by SMS.
    N_("telegram.bound"): Message((), {}),
    # TRANSLATORS: Telegram pop-up: a button of an earlier question was pressed; answer the latest message.
    N_("telegram.stale_button"): Message((), {}),
    # TRANSLATORS: Telegram button (short): share my phone number.
    N_("telegram.button.share_phone"): Message((), {}),
    # TRANSLATORS: Telegram button (short): 1, I agree (consent to the benefit application).
    N_("telegram.button.agree"): Message((), {}),
    # TRANSLATORS: Telegram button (short): 2, I refuse.
    N_("telegram.button.decline"): Message((), {}),
    # TRANSLATORS: Telegram button (short): 1, yes, pay to this account.
    N_("telegram.button.confirm_account"): Message((), {}),
    # TRANSLATORS: Telegram button (short): 2, another account.
    N_("telegram.button.other_account"): Message((), {}),
    # TRANSLATORS: Telegram button: the name of this catalog's language written in itself (Қазақша / Русский).
    N_("telegram.button.language"): Message((), {}),
}
