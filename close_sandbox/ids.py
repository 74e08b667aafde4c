"""Close-style prefixed ids: most have a 43-char base62 suffix; ev_, pipe_,
actitype_ (and our req_/api_ ids) have 22 chars (reference section 1)."""
import string

B62 = string.digits + string.ascii_letters
SHORT = {"ev", "pipe", "actitype", "req", "api", "memb"}
# byte -> base62 char; randbytes + translate is ~10x faster than choices()
_TABLE = bytes(ord(B62[b % 62]) for b in range(256))


def make(rng, prefix):
    n = 22 if prefix in SHORT else 43
    return prefix + "_" + rng.randbytes(n).translate(_TABLE).decode()
