"""Generation context: the seeded RNG, the time span, reserved cluster
windows and the organization-level objects every builder needs."""
from . import timefmt

MS = 1000


class Ctx:
    def __init__(self, rng, now_us, days):
        self.rng = rng
        self.now_us = timefmt.floor_ms(now_us)
        self.days = days
        self.start_us = self.now_us - max(days, 1) * timefmt.DAY
        self.windows = []          # [(lo, hi)) kept free of random times
        self.org_id = None
        self.org = None
        self.users = []
        self.users_by_id = {}
        self.api_user = None
        self.lead_statuses = []
        self.opp_statuses = []
        self.pipelines = []
        self.custom_fields = {}
        self.custom_activity_types = []
        # `_type` that custom activity RECORDS carry ("CustomActivity" or "Custom"): Close
        # filters them with `Custom`; the record value is UNCONFIRMED (see activities.py).
        self.custom_activity_record_type = "CustomActivity"

    # -- time helpers -------------------------------------------------------
    def _snap(self, us):
        """Millisecond precision; about 1 in 20 values on a whole second so both
        Close forms (with and without fraction) occur."""
        us = timefmt.floor_ms(us)
        if self.rng.random() < 0.05:
            us -= us % timefmt.SECOND
        return us

    def _in_window(self, us):
        for lo, hi in self.windows:
            if lo <= us < hi:
                return True
        return False

    def rand_time(self, lo, hi, avoid=True):
        """Uniform instant in [lo, hi] at ms precision, outside cluster windows."""
        if hi <= lo:
            return timefmt.floor_ms(lo)
        for _ in range(20):
            # One random() per draw whatever the width, so the RNG stream (and
            # thus every id) does not depend on the absolute generation time.
            us = self._snap(lo + int(self.rng.random() * (hi - lo)))
            if us < lo:
                us = timefmt.floor_ms(lo)
            if not (avoid and self._in_window(us)):
                return us
        return us

    def later(self, t, hi, p_same=0.5):
        """A date_updated for something created at t: often unchanged."""
        if self.rng.random() < p_same or hi <= t:
            return t
        return self.rand_time(t, hi)

    def ancient_time(self):
        """Older than any start date a tap would use (org setup time)."""
        return self.rand_time(self.start_us - 500 * timefmt.DAY, self.start_us - 400 * timefmt.DAY)

    def recent_time(self):
        return self.rand_time(self.now_us - 10 * timefmt.DAY, self.now_us - timefmt.MINUTE)

    def user(self):
        return self.rng.choice(self.users)

    def name_of(self, user_id):
        u = self.users_by_id.get(user_id)
        return ("%s %s" % (u["first_name"], u["last_name"])) if u else None
