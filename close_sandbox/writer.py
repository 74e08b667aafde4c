"""A concurrent writer: a thread that changes the organization while a tap reads it, the way a
busy Close account does (people edit leads, log calls, complete tasks, delete a wrong contact,
invite a colleague), so that tests can check what an incremental sync catches.

    with sb.writer(rate=50, kinds=("lead", "task"), seed=7) as w:
        w.wait_for(100)                       # 100 log entries, however long that takes
        ...                                   # or: run the tap here
    w.log                                     # [Write(kind, id, action, at), ...]
    w.ids("lead", until=bookmark)             # leads changed before the bookmark

Every write goes through the store's own mutations, so it is stamped by the sandbox clock (its
offset included) and has the events Close would log; the store lock makes each write atomic
with respect to the HTTP server. The writes are paced at `rate` per second of the host's
monotonic clock (a duration, not a Close time), so they spread over the run and, at a steady
rate, some land just before any window boundary a tap is reading. `step(n)` writes n times in
the caller's thread instead, for tests that need exact timestamps on a frozen clock.

Which record, which change and which content are drawn from `random.Random(seed)`: the same
sandbox seed, writer seed and sequence of calls give the same writes.

Log actions: `created`, `updated`, `deleted`, and `touched` for the lead whose child was
created, updated or deleted (Close moves a lead's date_updated when its contacts,
opportunities, tasks or activities change, without a lead event: reference section 8, store.py).
"""
import random
import threading
import time
from collections import namedtuple

from . import tasks, timefmt, words

KINDS = ("lead", "contact", "opportunity", "task", "activity", "user")
CHILD_KINDS = ("contact", "opportunity", "task", "activity")
# Activity types a person creates by hand or through an integration [I]; Created comes with a
# new lead, status changes and TaskCompleted come with other changes.
NEW_ACTIVITY_TYPES = ("Note", "Call", "Email", "SMS", "Meeting")
# The share of each action [I]: edits dominate a live account, deletions are rare. Users and
# leads are not deleted (a lead deletion is a different test: store.delete_lead).
ACTION_WEIGHTS = {"updated": 60, "created": 25, "deleted": 15}
# Activities Close lets a user edit in place are those with a note (Note, Call, Meeting) [I];
# how many random picks to try before creating one instead.
NOTE_PICK_TRIES = 8


class Write(namedtuple("Write", "kind id action at")):
    """One logged write: `at` is the sandbox clock's aware datetime (ms precision) the store
    stamped the record with."""
    __slots__ = ()

    @property
    def stamp(self):
        """`at` as Close formats it: the record's date_updated after this write."""
        return timefmt.fmt(timefmt.to_us(self.at))


class Writer:
    def __init__(self, store, rate=20.0, kinds=KINDS, seed=0):
        if isinstance(kinds, str):
            kinds = (kinds,)
        kinds = tuple(kinds)
        unknown = sorted(set(kinds) - set(KINDS))
        if not kinds or unknown:
            raise ValueError("kinds must be a non-empty subset of %s, not %r" % (KINDS, kinds))
        if not rate or rate <= 0:
            raise ValueError("rate must be a positive number of writes per second")
        self.store = store
        self.rate = float(rate)
        self.kinds = kinds
        self.rng = random.Random("writer:%s" % (seed,))
        self.log = []
        self.error = None                     # the exception that stopped the thread, if any
        self._cond = threading.Condition()    # wakes wait_for() on each write and at the end
        self._stop = threading.Event()
        self._thread = None

    # -- lifecycle -------------------------------------------------------------
    def start(self):
        if self.running:
            return self
        self._stop.clear()
        self.error = None
        self._thread = threading.Thread(target=self._run, name="close-sandbox-writer", daemon=True)
        self._thread.start()
        return self

    def stop(self, raise_error=True):
        """Stop after the write in progress; re-raises what stopped the thread early, if anything."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        if raise_error and self.error is not None:
            raise self.error

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, *_):
        self.stop(raise_error=exc_type is None)    # never hide the body's own exception

    def _run(self):
        interval = 1.0 / self.rate
        next_at = time.monotonic() + interval
        try:
            while not self._stop.wait(max(0.0, next_at - time.monotonic())):
                self._write()
                next_at += interval
                # Held up (a long request holding the store lock): carry on at the rate
                # instead of catching up in a burst.
                next_at = max(next_at, time.monotonic() - interval)
        except BaseException as exc:      # reported by stop() and wait_for(), never lost
            self.error = exc
        finally:
            with self._cond:
                self._cond.notify_all()

    def wait_for(self, n):
        """Block until the log has at least n entries. Raises if the writer stopped first."""
        with self._cond:
            while len(self.log) < n:
                if self.error is not None:
                    raise RuntimeError("the writer failed") from self.error
                if not self.running:
                    raise RuntimeError("the writer is not running (%d of %d entries)" % (len(self.log), n))
                self._cond.wait()
        return self

    def step(self, n=1):
        """n writes now, in the caller's thread; returns their log entries."""
        first = len(self.log)
        for _ in range(n):
            self._write()
        return self.log[first:]

    # -- reading the log ---------------------------------------------------------
    def changes(self, kind=None, since=None, until=None, actions=None):
        """Logged writes of `kind` (any when None) with since <= at < until (aware datetimes,
        None = unbounded) and action in `actions` (any when None), in the order they happened."""
        return [w for w in list(self.log)
                if (kind is None or w.kind == kind)
                and (since is None or w.at >= since) and (until is None or w.at < until)
                and (actions is None or w.action in actions)]

    def ids(self, kind, since=None, until=None, actions=None):
        """The ids of `kind` records written in [since, until)."""
        return {w.id for w in self.changes(kind, since, until, actions)}

    # -- writing -----------------------------------------------------------------
    def _write(self):
        store = self.store
        # The store lock is reentrant: holding it across the pick, the mutation and the read of
        # its stamp makes the three one step for the HTTP server and for other writers.
        with store.lock:
            kind = self.rng.choice(self.kinds)
            action = self.rng.choices(list(ACTION_WEIGHTS), list(ACTION_WEIGHTS.values()))[0]
            done = getattr(self, "_%s" % kind)(action)
            # Every mutation stamps its records with ctx.now_us (Store._begin).
            at = timefmt.from_us(store.ctx.now_us)
            entries = [Write(k, rid, act, at) for k, rid, act in done]
        with self._cond:
            self.log.extend(entries)
            self._cond.notify_all()

    def _pick(self, coll):
        """A random id of a collection (its date_created index is sorted, so the pick depends
        only on the organization's state and the rng), or None when it is empty."""
        idx = coll.index["date_created"]
        return idx[self.rng.randrange(len(idx))][1] if idx else None

    def _sentence(self):
        return words.sentence(self.rng)

    def _lead(self, action):
        store = self.store
        lead_id = self._pick(store.leads)
        if action == "created" or lead_id is None:
            lead = store.add_lead()
            # add_lead also creates a contact and the "Created" activity, as Close does
            created = store.children[lead["id"]]
            return ([("lead", lead["id"], "created")]
                    + [("contact", cid, "created") for cid in created["contact"]]
                    + [("activity", aid, "created") for aid in created["activity"]])
        if self.rng.random() < 0.3:
            status = self.rng.choice(store.ctx.lead_statuses)
            store.update_lead(lead_id, status_id=status["id"])
        else:
            store.update_lead(lead_id, description=self._sentence())
        return [("lead", lead_id, "updated")]

    def _user(self, action):
        store = self.store
        user_id = self._pick(store.users)
        if action == "created" or user_id is None:
            return [("user", store.add_user()["id"], "created")]
        # Close records the time zone a user last worked in: it changes as people travel [I].
        store.update_user(user_id, last_used_timezone=self.rng.choice(words.TIMEZONES))
        return [("user", user_id, "updated")]

    def _child(self, kind, action, edit):
        """Create, update or delete one child record; the parent lead is logged as touched.
        `edit(record)` returns (id, changes) for an update (possibly of another record than the
        one given), or None to create a record instead."""
        store = self.store
        coll = store.coll(kind)
        rid = self._pick(coll)
        edited = edit(coll.get(rid)) if (rid is not None and action == "updated") else None
        if rid is None or action == "created" or (action == "updated" and edited is None):
            lead_id = self._pick(store.leads)
            if lead_id is None:         # an empty organization: its first write is a lead
                return self._lead("created")
            rec = self._create(kind, lead_id)
            return [(kind, rec["id"], "created"), ("lead", rec["lead_id"], "touched")]
        if action == "deleted":
            lead_id = coll.get(rid)["lead_id"]
            store.delete_child(kind, rid)
        else:
            rid, changes = edited
            lead_id = getattr(store, "update_%s" % kind)(rid, **changes)["lead_id"]
        return [(kind, rid, action), ("lead", lead_id, "touched")]

    def _create(self, kind, lead_id):
        store = self.store
        if kind == "contact":
            return store.add_contact(lead_id)
        if kind == "opportunity":
            return store.add_opportunity(lead_id)
        if kind == "task":
            return store.add_task(lead_id, self.rng.choice(tasks.USER_TYPES))
        return store.add_activity(lead_id, self.rng.choice(NEW_ACTIVITY_TYPES))

    def _contact(self, action):
        return self._child("contact", action, lambda rec: (rec["id"], {"title": self.rng.choice(words.TITLES)}))

    def _opportunity(self, action):
        return self._child("opportunity", action, lambda rec: (rec["id"], {"note": self._sentence()}))

    def _task(self, action):
        def edit(rec):
            # Notification tasks have no text; they are only ever marked done or undone.
            if "text" not in rec or self.rng.random() < 0.3:
                return rec["id"], {"is_complete": not rec["is_complete"]}
            return rec["id"], {"text": self._sentence()}
        return self._child("task", action, edit)

    def _activity(self, action):
        def edit(rec):
            # Only activities with a note are edited in place (Note, Call, Meeting) [I]: try a
            # few picks, then create one instead.
            for _ in range(NOTE_PICK_TRIES):
                if "note" in rec:
                    return rec["id"], {"note": self._sentence()}
                rec = self.store.activities.get(self._pick(self.store.activities))
            return None
        return self._child("activity", action, edit)
