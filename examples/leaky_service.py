"""leaky_service.py - the demo's Python half: a "service" whose memory
grows.  Each request builds a Request/Session pair that refer to each other
(a cycle only the collector can free), and a module-level cache keeps a
2 MiB payload per request alive.  Run under leakprobe, the report names
the cycles, their types and allocation lines, and the chain of references
from __main__ to each lingering payload."""
import gc

gc.disable()  # like a service that tuned its collector away


class Session:
    def __init__(self, user):
        self.user = user
        self.requests = []


class Request:
    def __init__(self, session, path):
        self.session = session
        self.path = path
        session.requests.append(self)


cache = {}


def handle(user, path):
    session = Session(user)
    request = Request(session, path)
    cache[path] = bytearray(2 << 20)  # "rendered page", never evicted
    return len(request.path)


for i in range(3):
    handle("user%d" % i, "/page/%d" % i)
print("served 3 requests")
