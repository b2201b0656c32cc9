"""gc_defer.py - a report asked for while CPython's collector runs.

A cycle whose __del__ sleeps (releasing the GIL) is collected; while it
sleeps inside gc.collect(), a thread sends SIGUSR1.  The first __del__
also makes a new garbage cycle of two Marker objects, which this
collection does not see (made during it) and nothing collects before the
report (the collector is disabled): the report must find it.  The truth
file gets the ids of the dying objects and of the markers, and the times
the collection started and stopped, from the program's own gc.callbacks;
a last gc.collect() shows CPython's collector finds the markers too."""
import gc, json, os, signal, sys, threading, time

gc.collect()
gc.disable()
times = {}


def phase(p, info):
    times.setdefault(p, time.monotonic())


markers = []


class Marker:
    pass


class Dying:
    def __del__(self):
        if not markers:
            m, n = Marker(), Marker()
            m.peer, n.peer = n, m
            markers.extend([hex(id(m)), hex(id(n))])
            del m, n
        time.sleep(0.4)  # releases the GIL inside the collection
        times["del_end"] = time.monotonic()  # the last one: work is over


a, b = Dying(), Dying()
a.peer, b.peer = b, a
ids = [hex(id(a)), hex(id(b))]
del a, b
gc.callbacks.append(phase)


def poke():
    time.sleep(0.2)  # the collection is asleep in __del__ by now
    times["signal"] = time.monotonic()
    if not os.environ.get("NO_SIGNAL"):  # the baseline run without the shim
        os.kill(os.getpid(), signal.SIGUSR1)


t = threading.Thread(target=poke)
t.start()
found = gc.collect()
t.join()
time.sleep(0.3)  # let the deferred report finish
print("collected", found)
gc.callbacks.remove(phase)
before = {id(o) for o in gc.get_objects() if type(o) is Marker}
print("markers alive before the last collection:", len(before))
print("collected then", gc.collect() > 0, "markers left:",
      sum(1 for o in gc.get_objects() if type(o) is Marker))
with open(os.environ["LP_TRUTH"], "w") as f:
    json.dump({"dying": ids, "markers": markers, "times": times}, f)
