/// The redis-py program `TransactionClientTests` runs against a primary: the default (transactional) pipeline, a
/// transaction refused while queueing, and a WATCH retry loop raced by several threads over one counter.
/// Arguments: host, port. Prints one `name=value` line per finding and exits 0; an exception exits non-zero with its
/// traceback, and a missing redis-py exits 3.
enum TransactionClientScript {
    /// Threads racing the WATCH loop, and increments each makes.
    static let threads = 4, incrementsPerThread = 50

    static let source = RedisPyScript.preamble + #"""
        import threading
        threads, increments = int(sys.argv[3]), int(sys.argv[4])
        client = redis.Redis(host=host, port=port, protocol=2, decode_responses=True)

        # redis-py's default pipeline is MULTI ... EXEC.
        with client.pipeline() as pipe:
            pipe.set("tx:a", "1").incrby("tx:a", 41).get("tx:a").ping()
            print(f"pipeline={pipe.execute()}")

        # A command refused while queueing aborts the whole transaction; nothing in it runs.
        try:
            with client.pipeline() as pipe:
                pipe.set("tx:b", "1").execute_command("NO-SUCH-COMMAND").set("tx:c", "1")
                pipe.execute()
            print("aborted=False")
        except redis.exceptions.ResponseError as error:
            print(f"aborted={'EXECABORT' in str(error) or 'unknown command' in str(error)}")
        print(f"aborted_wrote={client.exists('tx:b', 'tx:c')}")

        # Optimistic locking: WATCH, read, MULTI, write, EXEC; retry when EXEC answers null (WatchError).
        client.set("tx:counter", 0)
        retries = [0] * threads

        def worker(index):
            own = redis.Redis(host=host, port=port, protocol=2, decode_responses=True)
            for _ in range(increments):
                with own.pipeline() as pipe:
                    while True:
                        try:
                            pipe.watch("tx:counter")
                            value = int(pipe.get("tx:counter"))
                            pipe.multi()
                            pipe.set("tx:counter", value + 1)
                            pipe.execute()
                            break
                        except redis.WatchError:
                            retries[index] += 1

        workers = [threading.Thread(target=worker, args=(index,)) for index in range(threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        print(f"counter={client.get('tx:counter')}")
        print(f"retries={sum(retries)}")

        # transaction(): redis-py's helper around the same loop.
        def add_ten(pipe):
            value = int(pipe.get("tx:counter"))
            pipe.multi()
            pipe.set("tx:counter", value + 10)

        client.transaction(add_ten, "tx:counter")
        print(f"after_helper={client.get('tx:counter')}")
        """#
}
