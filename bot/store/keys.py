"""Key names, laid out for Redis Cluster: every key the bot uses is named here, and the ids that pick a shard."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

DIALOG_ID = re.compile(r"d_([0-9a-f]{2})[0-9a-f]{2}(?:-[0-9a-f]{4}){3}")
MAX_SHARDS = 256  # a dialog id carries its shard in two hex digits
SHARD_INDEXES = ("dialogs", "flagged", "overdue", "attention")
# A Redis stream entry id as it may come from outside (a URL, Last-Event-ID): each part below 2**64, or Redis
# refuses it with an error that would read as an outage.
STREAM_ID = re.compile(r"[0-9]{1,19}-[0-9]{1,19}")


def dialog_shard(dialog_id: str) -> int:
    """The shard a dialog id was made in (its first two hex digits); ValueError for an id we never made."""
    found = DIALOG_ID.fullmatch(dialog_id)
    if found is None:
        raise ValueError(f"not a dialog id: {dialog_id[:40]!r}")
    return int(found.group(1), 16)


def hash_tag(key: str) -> str:
    """What Redis Cluster hashes of a key: the text between its first `{` and the first `}` after it, when not
    empty; else the whole key. Keys with the same tag share a slot, so one transaction may write them."""
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        if end > start + 1:
            return key[start + 1:end]
    return key


@dataclass(frozen=True)
class Keys:
    """Key names, laid out for Redis Cluster.

    A phone and all its dialogs belong to one shard (crc32 of the number, modulo `shards`), and every key of
    that shard carries its hash tag `{sNN}`, so one step's transaction (dialog, its log, phone slot, timers,
    indexes, counters) touches one hash slot. Keys named by an outside identifier (event, subject, IIN,
    application, Telegram user) are single-key lookups written outside that transaction, and the
    job streams share the tag `{jobs}`. The shard count is fixed for the life of a deployment's data.
    """

    prefix: str
    shards: int = 16

    def shard_of(self, msisdn: str) -> int:
        return zlib.crc32(msisdn.encode()) % self.shards

    def _tag(self, shard: int) -> str:
        return f"{self.prefix}:{{s{shard:02x}}}"

    def _phone(self, msisdn: str) -> str:
        return f"{self._tag(self.shard_of(msisdn))}:phone:{msisdn}"

    def dialog(self, dialog_id: str) -> str:
        return f"{self._tag(dialog_shard(dialog_id))}:dialog:{dialog_id}"

    def phone_dialog_prefix(self, msisdn: str) -> str:
        """What the keys of this phone's dialogs start with (their ids carry the phone's shard): a script reads the
        dialog a phone's slot names by it."""
        return f"{self._tag(self.shard_of(msisdn))}:dialog:"

    def dialog_log(self, dialog_id: str) -> str:
        return f"{self.dialog(dialog_id)}:log"

    def dialog_log_archive(self, dialog_id: str) -> str:
        """String: a closed dialog's log records archived in one value (bot/store/compaction.py), older than any
        left in `dialog_log`; it expires when the log would have."""
        return f"{self.dialog(dialog_id)}:logz"

    def deliveries(self, dialog_id: str) -> str:
        """Hash: client ids of this dialog's SMS reported delivered since its last save (and the field `!` while
        its reports need a step)."""
        return f"{self.dialog(dialog_id)}:delivered"

    def phone(self, msisdn: str) -> str:
        return self._phone(msisdn)

    def gateway_receipt(self, client_id: str) -> str:
        """String: the id a gateway that keeps no record of client ids (Kannel) gave the SMS sent under this one."""
        return f"{self.prefix}:gw-receipt:{client_id}"

    def phone_queue(self, msisdn: str) -> str:
        return f"{self._phone(msisdn)}:queue"

    def phone_lock(self, msisdn: str) -> str:
        return f"{self._phone(msisdn)}:lock"

    def phone_dialogs(self, msisdn: str) -> str:
        return f"{self._phone(msisdn)}:dialogs"

    def once(self, what: str, msisdn: str, day: str) -> str:
        return f"{self._phone(msisdn)}:once:{what}:{day}"

    def ussd_session(self, msisdn: str) -> str:
        return f"{self._phone(msisdn)}:ussd"

    def inbound_rate(self, msisdn: str, minute: str) -> str:
        return f"{self._phone(msisdn)}:rate:{minute}"

    def taken(self, msisdn: str) -> str:
        """The message last taken as an answer from this phone (dialogs/answers.py: the duplicate rule)."""
        return f"{self._phone(msisdn)}:taken"

    def inbound(self, msisdn: str, message_key: str) -> str:
        """An inbound message seen (`channel:provider id`): in the phone's slot, so it is marked in the step."""
        return f"{self._phone(msisdn)}:in:{message_key}"

    def phone_telegram(self, msisdn: str) -> str:
        return f"{self._phone(msisdn)}:telegram"

    def timers(self, shard: int) -> str:
        """Sorted set of dialogs by their earliest due timer (and `dialog_id|start` by its start), one per shard."""
        return f"{self._tag(shard)}:timers"

    def index(self, name: str, shard: int) -> str:
        """One shard's part of an index of dialogs by creation time: `dialogs` (all), `flagged`, `overdue`
        (decision overdue), `attention` (Dialog.attention: the console's queue)."""
        return f"{self._tag(shard)}:index:{name}"

    def index_parts(self, name: str) -> list[str]:
        """Every shard's part of an index."""
        return [self.index(name, shard) for shard in range(self.shards)]

    def status_counts(self, shard: int) -> str:
        """Hash: public status → number of dialogs in it now (kept from the dialog log's status records)."""
        return f"{self._tag(shard)}:stats:status"

    def day_stats(self, day: str, shard: int) -> str:
        """Hash of one Kazakhstan day's counts: new dialogs, consents, entries into each status."""
        return f"{self._tag(shard)}:stats:day:{day}"

    # Lookups by an outside identifier: one key each, written outside the dialog's transaction.

    def event(self, event_id: str) -> str:
        return f"{self.prefix}:event:{event_id}"

    def subject(self, service: str, iin: str) -> str:
        return f"{self.prefix}:subject:{service}:{iin}"

    def application(self, application_id: str) -> str:
        return f"{self.prefix}:application:{application_id}"

    def iin(self, iin: str) -> str:
        """Dialogs naming this IIN as recipient or subject (the console's exact IIN search)."""
        return f"{self.prefix}:iin:{iin}"

    def telegram_user(self, user_id: int) -> str:
        return f"{self.prefix}:telegram:user:{user_id}"

    def log_feed(self) -> str:
        """The live feed every tail reads (a capped stream, written just after each transaction)."""
        return f"{self.prefix}:log"

    # The consent ledger (bot/ledger.py): one hash tag, so the chain is one sequence a transaction can extend.

    def ledger(self, part: str) -> str:
        """`records` (list of canonical JSON records, oldest first), `head` (hash: seq, hash of the newest),
        `base` (hash: seq, hash of the last record trimmed after its retention), `ids` (hash: act id → seq)."""
        return f"{self.prefix}:{{ledger}}:{part}"

    def ledger_pending(self, dialog_id: str) -> str:
        """On a cluster: a dialog's ledger records written in its step's transaction, until chained."""
        return f"{self.dialog(dialog_id)}:ledger"

    # Operators (bot/ops/sessions.py): named by a digest, so a key never holds a session id, name or address.

    def ops_session(self, digest: str) -> str:
        """Hash: one console session (name, language, CSRF token, token fingerprint, last use)."""
        return f"{self.prefix}:ops:session:{digest}"

    def ops_failures(self, scope: str, digest: str) -> str:
        """Hash: failed sign-ins or Bearer calls of one client address or operator name, and when it may retry."""
        return f"{self.prefix}:ops:failures:{scope}:{digest}"

    def ops_reveals(self, digest: str, hour: str) -> str:
        """Counter: one operator's reveals of personal data in one hour."""
        return f"{self.prefix}:ops:reveals:{digest}:{hour}"

    # The work queue (bot/jobs.py): one hash tag, so moving an entry between its streams is one transaction.

    def jobs(self) -> str:
        return f"{self.prefix}:{{jobs}}:stream"

    def dead_letters(self) -> str:
        return f"{self.prefix}:{{jobs}}:dead"

    def job_errors(self) -> str:
        """Hash: stream entry id → the last error it raised (moved with it to the dead letters)."""
        return f"{self.prefix}:{{jobs}}:errors"

    def job_done(self, origin: str) -> str:
        """List of finished jobs' results for the process `origin`, which waits for them."""
        return f"{self.prefix}:{{jobs}}:done:{origin}"
