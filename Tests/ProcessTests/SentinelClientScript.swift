/// The redis-py program `SentinelClientTests` runs: a writer that finds the primary only through Sentinel.
///
/// Arguments: the service name, a stop file, then each node's client address (`HOST:PORT`) as a sentinel. It writes
/// `sentinel:<i>` = `v<i>` through `Sentinel.master_for(service)` with redis-py's default retry policy, as an
/// application would, and prints one line per write once its outcome is known:
///
///     acked <i> <sent ns> <answered ns> <host:port the pool had discovered>
///     failed <i> <sent ns> <answered ns> <exception>: <message>
///
/// Times are CLOCK_MONOTONIC nanoseconds, the clock `monotonicNanoseconds()` reads, so the test can compare them with
/// the moment it killed a node. It stops when the stop file appears, when its parent (the test) is gone, or after
/// two minutes, and exits 3 when redis-py is not installed.
enum SentinelClientScript {
    static let source = #"""
        import os
        import sys
        import time

        try:
            from redis.sentinel import Sentinel
        except ImportError as error:
            print(f"missing redis-py: {error}", flush=True)
            sys.exit(3)


        def now():
            return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


        service, stop_path = sys.argv[1], sys.argv[2]
        sentinels = []
        for address in sys.argv[3:]:
            host, port = address.rsplit(":", 1)
            sentinels.append((host, int(port)))
        parent = os.getppid()
        deadline = time.monotonic() + 120
        sentinel = Sentinel(sentinels, socket_timeout=0.5, socket_connect_timeout=0.25)
        master = sentinel.master_for(service, socket_timeout=0.5, socket_connect_timeout=0.25)
        print("ready", flush=True)
        index = 0
        while not os.path.exists(stop_path) and os.getppid() == parent and time.monotonic() < deadline:
            key, value = f"sentinel:{index}", f"v{index}"
            sent = now()
            try:
                reply = master.set(key, value)
                answered = now()
                host, port = master.connection_pool.master_address or ("?", 0)
                if reply is True:
                    line = f"acked {index} {sent} {answered} {host}:{port}"
                else:
                    line = f"failed {index} {sent} {answered} UnexpectedReply: {reply!r}"
            except Exception as error:
                answered = now()
                message = " ".join(str(error).split())[:300]
                line = f"failed {index} {sent} {answered} {type(error).__name__}: {message}"
            print(line, flush=True)
            index += 1
            time.sleep(0.001)
        print(f"stopped after {index} writes", flush=True)
        """#
}
