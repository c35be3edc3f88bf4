/// The redis-py program `DatabaseClientTests` runs against a primary: clients made with `db=N` (redis-py selects the
/// database after connecting), each seeing its own keys, then SWAPDB, MOVE, FLUSHDB, a transaction and a WATCH in a
/// database other than 0. Arguments: host, port. Prints one `name=value` line per finding and exits 0; an exception
/// exits non-zero with its traceback, and a missing redis-py exits 3.
enum DatabaseClientScript {
    static let source = RedisPyScript.preamble + #"""

        def connect(db):
            return redis.Redis(host=host, port=port, db=db, protocol=2, decode_responses=True)

        zero, three, five = connect(0), connect(3), connect(5)
        zero.set("db:k", "zero")
        three.set("db:k", "three")
        three.set("db:ttl", "x", ex=100)
        print(f"gets={[zero.get('db:k'), three.get('db:k'), five.get('db:k')]}")
        print(f"dbsizes={[zero.dbsize(), three.dbsize(), five.dbsize()]}")
        print(f"client_db={three.client_info()['db']}")
        keyspace = zero.info("keyspace")
        print(f"keyspace={sorted((name, fields['keys'], fields['expires']) for name, fields in keyspace.items())}")

        # A transaction in database 3 runs there.
        with three.pipeline() as pipe:
            pipe.incr("db:counter").incr("db:counter").get("db:counter")
            print(f"pipeline={pipe.execute()}")
        print(f"counter_elsewhere={zero.get('db:counter')}")

        # A watched key is its database's: the same name written in database 0 does not abort.
        with three.pipeline() as pipe:
            pipe.watch("db:k")
            zero.set("db:k", "zero again")
            pipe.multi()
            pipe.set("db:watched", "ran")
            print(f"watch_other_db={pipe.execute()}")
        try:
            with three.pipeline() as pipe:
                pipe.watch("db:k")
                connect(3).set("db:k", "changed")
                pipe.multi()
                pipe.set("db:watched", "ran twice")
                pipe.execute()
            print("watch_same_db=ran")
        except redis.WatchError:
            print("watch_same_db=aborted")

        print(f"move={three.move('db:ttl', 5)}")
        print(f"moved={[three.exists('db:ttl'), five.get('db:ttl'), 0 < five.ttl('db:ttl') <= 100]}")
        print(f"swapdb={zero.swapdb(3, 5)}")
        print(f"after_swap={[three.get('db:ttl'), five.get('db:k'), three.get('db:k')]}")
        print(f"flushdb={five.flushdb()}")
        print(f"after_flush={[zero.get('db:k'), five.dbsize(), three.dbsize()]}")
        try:
            connect(16).ping()
            print("db16=connected")
        except redis.exceptions.ResponseError as error:
            print(f"db16={error}")
        """#
}
