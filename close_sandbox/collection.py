"""A collection of records with sorted (timestamp_us, id) indexes so a page
can be served by bisecting instead of sorting the whole collection.

Records are treated as immutable: a change replaces the dict (copy on
write), so a reader may JSON-encode a record it fetched without holding the
store lock."""
import bisect


class Collection:
    def __init__(self, name, index_keys=("date_created", "date_updated")):
        self.name = name
        self.by_id = {}
        self.times = {}                      # id -> {key: us}
        self.index = {k: [] for k in index_keys}
        self.version = 0                     # bumped on every change; keys query caches

    def load(self, rows):
        """Bulk load [(record, {key: us})] and sort each index once."""
        for rec, times in rows:
            self.by_id[rec["id"]] = rec
            self.times[rec["id"]] = times
        for key, idx in self.index.items():
            idx[:] = sorted((t[key], rid) for rid, t in self.times.items())

    def put(self, rec, times):
        self.version += 1
        rid = rec["id"]
        old = self.times.get(rid)
        for key, idx in self.index.items():
            if old is not None and old[key] != times[key]:
                self._remove_entry(idx, (old[key], rid))
            if old is None or old[key] != times[key]:
                bisect.insort(idx, (times[key], rid))
        self.by_id[rid] = rec
        self.times[rid] = dict(times)

    def remove(self, rid):
        self.version += 1
        old = self.times.pop(rid, None)
        if old is None:
            return None
        for key, idx in self.index.items():
            self._remove_entry(idx, (old[key], rid))
        return self.by_id.pop(rid)

    @staticmethod
    def _remove_entry(idx, entry):
        i = bisect.bisect_left(idx, entry)
        if i < len(idx) and idx[i] == entry:
            del idx[i]

    def get(self, rid):
        return self.by_id.get(rid)

    def __len__(self):
        return len(self.by_id)

    def span(self, key, lo=None, hi=None):
        """Ascending [(us, id)] with lo <= us < hi (None = unbounded)."""
        idx = self.index[key]
        i = 0 if lo is None else bisect.bisect_left(idx, (lo,))
        j = len(idx) if hi is None else bisect.bisect_left(idx, (hi,))
        return idx[i:j]

    def select(self, order_key, desc, ranges, pred=None, candidates=None):
        """Ids ordered by (order_key, id) (descending when desc), restricted to
        ranges {key: (lo, hi)} (half-open, us) and pred(record).

        Uses the index of the order key when it is range-restricted or when no
        other range applies; otherwise bisects the first restricted key and
        sorts only that (usually small) slice."""
        lo, hi = ranges.get(order_key, (None, None))
        others = {k: v for k, v in ranges.items() if k != order_key}
        if candidates is not None:
            # A small explicit set (e.g. one lead's children): sort just those.
            others = dict(ranges)
            entries = sorted((self.times[rid][order_key], rid) for rid in set(candidates) if rid in self.by_id)
        elif others and order_key not in ranges:
            key, (klo, khi) = next(iter(others.items()))
            del others[key]
            ids_ = [rid for _, rid in self.span(key, klo, khi)]
            entries = sorted((self.times[rid][order_key], rid) for rid in ids_)
        else:
            entries = self.span(order_key, lo, hi)
        out = []
        for us, rid in (reversed(entries) if desc else entries):
            if others:
                t = self.times[rid]
                if any(not ((a is None or t[k] >= a) and (b is None or t[k] < b)) for k, (a, b) in others.items()):
                    continue
            if pred is not None and not pred(self.by_id[rid]):
                continue
            out.append(rid)
        return out
