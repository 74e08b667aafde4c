"""Skewed generation (`Sandbox(skew=True)`, `--skew`): record times laid out as real accounts
lay them out, rather than evenly over the period.

Source: issue #15's description of real Close accounts [I: "about a quarter of a year's
activities fall on one import day, many records share a minute, recent months hold more"];
the numbers below are our choices within that description [I].

- **An import day.** `IMPORT_SHARE` of the leads were created by one import, within
  `IMPORT_HOURS` of one day, each with its contacts and activities within minutes after it
  (`IMPORT_SPREAD`): that day holds about a quarter of the period's activities.
- **One-minute bursts.** Campaign minutes, in which many leads each get an Email activity
  (`CAMPAIGN_SHARE` of the other leads' activities), and bulk-edit minutes, in which many
  leads and contacts are updated at once (`BULK_EDIT_SHARE` of them), the newest a few days
  ago (`RECENT_BULK_EDIT`): a lead's date_updated follows its newest child, so only an edit
  after all of them shows on the lead.
- **Growth.** The other leads, and the activities, contacts and tasks they gain, are created
  with a density that rises linearly over the period (`GROWTH`: the newest day is 4x as busy
  as the oldest), so recent months hold more than old ones.

Every draw here comes from the generator's RNG, and only when skew is on: with skew off the
generator draws exactly what it drew before this module existed (same data for a seed).
Cluster windows (`minute_cluster`/`day_cluster`, generator.py) stay free of skewed times, and
their leads are laid out as without skew."""
import math

from . import timefmt

MS = 1000
HOUR = 60 * timefmt.MINUTE
# Of the leads: their activities are then ~25% of the period's (the TaskCompleted activities of
# their later tasks, and the other leads' activities, fall on other days).
IMPORT_SHARE = 0.27
IMPORT_AT = 0.3                     # where the import day falls, as a fraction of the period
IMPORT_HOURS = (9, 17)              # the import runs over these hours of that day (UTC)
IMPORT_SPREAD = 2 * timefmt.MINUTE  # an imported lead's contacts and activities follow it within this
GROWTH = 3.0                        # density 1 + GROWTH * x at x in [0, 1] of the period
CAMPAIGN_EVERY_DAYS = 14            # one campaign minute per this many days of the period
CAMPAIGN_SHARE = 0.15               # of a non-imported lead's activities: a campaign's Email
BULK_EDIT_EVERY_DAYS = 30           # one bulk-edit minute per this many days of the period
BULK_EDIT_SHARE = 0.1               # of leads (after their children) and of contacts: bulk-edited
RECENT_BULK_EDIT = 3 * timefmt.DAY  # the newest bulk edit falls within this of now


class Skew:
    """The organization-wide layout: which leads were imported, when the import ran, the
    campaign and bulk-edit minutes. `lead(i)` gives one lead's times."""

    def __init__(self, ctx, n_leads, reserved):
        self.ctx = ctx
        self.span = max(ctx.now_us - ctx.start_us, 1)
        candidates = [i for i in range(n_leads) if i not in reserved]
        self.imported = set(ctx.rng.sample(candidates, round(IMPORT_SHARE * len(candidates))))
        self.import_window = self._import_window()
        self.campaign_minutes = self._minutes(max(2, ctx.days // CAMPAIGN_EVERY_DAYS))
        self.bulk_edit_minutes = self._minutes(max(2, ctx.days // BULK_EDIT_EVERY_DAYS),
                                               newest_after=ctx.now_us - RECENT_BULK_EDIT)

    def layout(self):
        """What tests and the bench may want to know: {"import": (lo, hi), "campaigns":
        [minute starts], "bulk_edits": [minute starts]}, in microseconds."""
        return {"import": self.import_window, "campaigns": list(self.campaign_minutes),
                "bulk_edits": list(self.bulk_edit_minutes)}

    def lead(self, i):
        return LeadTimes(self, i in self.imported)

    # -- times ------------------------------------------------------------------------
    def grown_time(self, lo, hi):
        """An instant in [lo, hi] at ms precision, drawn from the growth density restricted to
        [lo, hi] (inverse of its CDF), outside cluster windows."""
        ctx = self.ctx
        if hi <= lo:
            return timefmt.floor_ms(lo)
        a, b = self._cdf(lo), self._cdf(hi)
        us = lo
        for _ in range(20):
            u = a + ctx.rng.random() * (b - a)
            x = (math.sqrt(1 + 2 * GROWTH * u) - 1) / GROWTH
            us = min(max(ctx._snap(ctx.start_us + int(x * self.span)), timefmt.floor_ms(lo)), hi)
            if not ctx._in_window(us):
                return us
        return us

    def _cdf(self, us):
        # Unnormalised CDF of the density 1 + GROWTH * x over x = the fraction of the period.
        x = (us - self.ctx.start_us) / self.span
        return x + GROWTH * x * x / 2

    def in_minute(self, minutes, lo, hi):
        """An instant inside one of `minutes` (chosen at random) lying within [lo, hi], or None
        when none does."""
        fitting = [m for m in minutes if lo <= m and m + timefmt.MINUTE <= hi]
        if not fitting:
            return None
        m = self.ctx.rng.choice(fitting)
        return self.ctx.rand_time(m, m + timefmt.MINUTE - MS, avoid=False)

    def _import_window(self):
        ctx = self.ctx
        day = timefmt.floor_day(ctx.start_us + int(self.span * IMPORT_AT))
        while day > ctx.start_us and any(lo < day + timefmt.DAY and day < hi for lo, hi in ctx.windows):
            day -= timefmt.DAY      # clear of the cluster windows, which hold their records only
        lo = max(day + IMPORT_HOURS[0] * HOUR, ctx.start_us)
        return lo, max(lo, min(day + IMPORT_HOURS[1] * HOUR, ctx.now_us - 10 * timefmt.MINUTE))

    def _minutes(self, n, newest_after=None):
        """n minute starts drawn from the growth density (the newest after `newest_after` if
        given), clear of the import window, of the cluster windows and of the last hour
        (records must not be newer than now)."""
        ctx = self.ctx
        minutes = set()
        if newest_after is not None:
            minutes.add(self._free_minute(lambda: ctx.rand_time(newest_after, ctx.now_us - HOUR, avoid=False)))
        for _ in range(20 * n):      # bounded: a tiny period may not hold n free minutes
            if len(minutes - {None}) >= n:
                break
            minutes.add(self._free_minute(lambda: self.grown_time(ctx.start_us, ctx.now_us - HOUR)))
        return sorted(m for m in minutes if m is not None)

    def _free_minute(self, draw):
        """A minute start from `draw()` clear of the import and cluster windows (None after 20
        tries: no such minute)."""
        imp_lo, imp_hi = self.import_window
        for _ in range(20):
            m = timefmt.floor_minute(draw())
            if not (imp_lo - timefmt.MINUTE < m < imp_hi or self.ctx._in_window(m)
                    or self.ctx._in_window(m + timefmt.MINUTE - MS)):
                return m
        return None


class LeadTimes:
    """One lead's times under skew: `created` and `own` (its own date_updated), then one call
    per child, in the generator's order, then `settled`. An imported lead's contacts and
    activities come with it on the import day; every other time follows the growth density,
    with bursts."""

    def __init__(self, skew, imported):
        self.skew, self.imported = skew, imported
        ctx = skew.ctx
        if imported:
            lo, hi = skew.import_window
            self.created = ctx.rand_time(lo, hi - IMPORT_SPREAD)
        else:
            self.created = skew.grown_time(ctx.start_us, ctx.now_us - 10 * timefmt.MINUTE)
        self.hi = ctx.now_us
        self.own = ctx.later(self.created, self.hi, p_same=0.4)

    def settled(self, newest):
        """The lead's date_updated once its children are made (`newest`: its own edit and
        theirs): a bulk edit after all of them for some leads."""
        burst = self._bulk_edit(newest) if self.skew.ctx.rng.random() < BULK_EDIT_SHARE else None
        return newest if burst is None else burst

    def contact(self, p_same):
        """(date_created, date_updated) of a contact: imported with the lead, or added later;
        some updated in a bulk edit."""
        c = self._imported_child() if self.imported else self.skew.grown_time(self.created, self.hi)
        burst = self._bulk_edit(c) if self.skew.ctx.rng.random() < BULK_EDIT_SHARE else None
        return c, burst if burst is not None else self.skew.ctx.later(c, self.hi, p_same)

    def opportunity(self, p_same):
        c = self.skew.grown_time(self.created, self.hi)
        return c, self.skew.ctx.later(c, self.hi, p_same)

    task = opportunity

    def activity(self, _type, first, p_same):
        """(_type, date_created, date_updated): the first activity (`Created`) at the lead's
        creation; an imported lead's others imported with it; another lead's either a
        campaign's Email in a campaign minute or a time from the growth density."""
        ctx = self.skew.ctx
        if first:
            c = self.created
        elif self.imported:
            c = self._imported_child()
        else:
            c = None
            if ctx.rng.random() < CAMPAIGN_SHARE:
                c = self.skew.in_minute(self.skew.campaign_minutes, self.created, self.hi)
                _type = "Email" if c is not None else _type
            if c is None:
                c = self.skew.grown_time(self.created, self.hi)
        return _type, c, ctx.later(c, self.hi, p_same)

    def _imported_child(self):
        return self.skew.ctx.rand_time(self.created, self.created + IMPORT_SPREAD)

    def _bulk_edit(self, after):
        return self.skew.in_minute(self.skew.bulk_edit_minutes, after, self.hi)
