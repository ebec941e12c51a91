#!/usr/bin/env python3
"""A small cache workload with the redis-py client against Flotilla's RESP port.

Checks what a cache relies on: SET with EX/PX and NX, GET, MSET/MGET across shards, INCR,
TTL/PTTL, EXPIRE/PERSIST, DEL counting, a pipeline, SCAN, and that expired entries vanish
(reads at once, DBSIZE once the leader's sweep has run). Exits non-zero with a message on the
first surprise; prints "ok" at the end.
"""
import argparse
import sys
import time

import redis


def check(condition, message):
    if not condition:
        print("FAILED: " + message, file=sys.stderr)
        sys.exit(1)


def eventually(predicate, timeout_seconds, what):
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    check(False, "timed out after %s s waiting until %s" % (timeout_seconds, what))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--other-port", type=int, required=True, help="another host of the same cluster")
    arguments = parser.parse_args()
    cache = redis.Redis(host="127.0.0.1", port=arguments.port, socket_timeout=10)
    other = redis.Redis(host="127.0.0.1", port=arguments.other_port, socket_timeout=10)

    check(cache.ping() is True, "PING")
    # Fill: 200 entries with a long TTL, 50 with a short one.
    for number in range(200):
        check(cache.set("page:%d" % number, "body-%d" % number, ex=600) is True, "SET EX")
    for number in range(50):
        check(cache.set("session:%d" % number, b"\x00\r\n\xffbinary", px=700) is True, "SET PX")
    check(cache.get("page:7") == b"body-7", "GET a cached page")
    check(other.get("page:7") == b"body-7", "GET on another host reads the write (linearizable)")
    check(other.get("session:3") == b"\x00\r\n\xffbinary", "binary values survive")
    check(cache.get("page:nope") is None, "a miss is nil")
    ttl = cache.ttl("page:1")
    check(590 <= ttl <= 600, "TTL of a 600 s entry: %s" % ttl)
    check(cache.pttl("page:nope") == -2, "PTTL of a missing key")
    # NX only fills a missing entry.
    check(cache.set("page:1", "other", nx=True) is None, "SET NX on a present key does nothing")
    check(cache.set("lock:a", "me", nx=True, ex=30) is True, "SET NX on a missing key")
    check(cache.get("page:1") == b"body-1", "the NX attempt left the value")
    # Counters.
    check(cache.incr("hits") == 1, "INCR from nothing")
    check(cache.incrby("hits", 41) == 42, "INCRBY")
    check(cache.decr("hits") == 41, "DECR")
    try:
        cache.incr("page:1")
        check(False, "INCR of a non-integer must fail")
    except redis.ResponseError as error:
        check("not an integer" in str(error), "INCR error: %s" % error)
    # Multi-key commands across shards.
    check(cache.mset({"multi:%d" % number: str(number) for number in range(20)}) is True, "MSET")
    values = cache.mget(["multi:%d" % number for number in range(20)] + ["multi:none"])
    check(values == [str(number).encode() for number in range(20)] + [None], "MGET in order: %s" % values)
    check(cache.exists("multi:1", "multi:2", "multi:none") == 2, "EXISTS counts")
    check(cache.delete("multi:1", "multi:2", "multi:none") == 2, "DEL counts")
    # EXPIRE and PERSIST.
    check(cache.expire("page:2", 1) is True, "EXPIRE a present key")
    check(cache.persist("page:2") is True, "PERSIST")
    check(cache.ttl("page:2") == -1, "no TTL after PERSIST")
    check(cache.expire("page:nope", 5) is False, "EXPIRE a missing key")
    # A pipeline.
    pipe = cache.pipeline(transaction=False)
    for number in range(30):
        pipe.set("piped:%d" % number, number)
        pipe.get("piped:%d" % number)
    answers = pipe.execute()
    check(answers == [item for number in range(30) for item in (True, str(number).encode())], "pipelined answers in order")
    # SCAN sees every key that is there for the whole scan.
    seen = set(key.decode() for key in cache.scan_iter(match="page:*", count=50))
    check(seen == set("page:%d" % number for number in range(200)), "SCAN MATCH page:* found %d of 200" % len(seen))
    # The short-lived entries expire: reads miss at once, and the leader's sweep deletes them.
    eventually(lambda: all(cache.get("session:%d" % number) is None for number in range(50)), 10, "sessions read as expired")
    check(other.ttl("session:0") == -2, "TTL of an expired key on another host")
    expected_size = 200 + 1 + 1 + 18 + 30  # pages, lock, hits, multi (20 - 2), piped
    eventually(lambda: cache.dbsize() == expected_size, 15, "DBSIZE drops to %d once expired keys are swept" % expected_size)
    print("ok")


if __name__ == "__main__":
    main()
