/// The redis-py program `RESP3ClientTests` runs against a primary with `protocol=3`: each command is sent on a raw
/// connection and its reply read by redis-py's RESP3 parser without the library's reply callbacks, so the Python type
/// shows the RESP3 type the node sent (`%` a dict, `~` a set, `,` a float, `_` None, `>` a push). Arguments: host, port.
/// Prints one `name=value` line per finding and exits 0; an exception exits non-zero with its traceback, and a
/// missing redis-py exits 3.
enum RESP3ClientScript {
    static let source = RedisPyScript.preamble + #"""
        client = redis.Redis(host=host, port=port, protocol=3, decode_responses=True)
        connection = client.connection_pool.get_connection()


        def raw(*arguments):
            connection.send_command(*arguments)
            return connection.read_response()


        def show(name, value):
            if isinstance(value, set):
                value = sorted(value)
            print(f"{name}={type(value).__name__}:{value!r}")


        hello = raw("HELLO", "3")
        show("hello_proto", hello["proto"])
        show("strings_get_missing", raw("GET", "resp3:missing"))
        raw("SET", "resp3:s", "v")
        show("strings_mget", raw("MGET", "resp3:s", "resp3:missing"))
        raw("HSET", "resp3:h", "f", "v", "g", "w")
        show("hashes_hgetall", raw("HGETALL", "resp3:h"))
        show("hashes_hkeys", sorted(raw("HKEYS", "resp3:h")))
        raw("SADD", "resp3:set", "a", "b")
        show("sets_smembers", raw("SMEMBERS", "resp3:set"))
        show("sets_sunion", raw("SUNION", "resp3:set", "resp3:none"))
        raw("ZADD", "resp3:z", "1.5", "a", "2", "b")
        show("zsets_zscore", raw("ZSCORE", "resp3:z", "a"))
        show("zsets_zrange_withscores", raw("ZRANGE", "resp3:z", "0", "-1", "WITHSCORES"))
        show("zsets_zincrby", raw("ZINCRBY", "resp3:z", "1", "b"))
        show("zsets_zpopmin", raw("ZPOPMIN", "resp3:z"))
        show("config_get", raw("CONFIG", "GET", "maxmemory"))
        show("client_info_resp", "resp=3" in raw("CLIENT", "INFO"))
        raw("MULTI")
        raw("ZSCORE", "resp3:z", "b")
        raw("HGETALL", "resp3:h")
        show("exec", raw("EXEC"))
        show("reset", raw("RESET"))
        # RESET goes back to RESP2, as Redis's does; redis-py's RESP3 parser cannot read RESP2's null, so ask for text.
        show("after_reset_resp", "resp=2" in raw("CLIENT", "INFO"))
        raw("HELLO", "3")

        # The library's own API on RESP3: its callbacks see the RESP3 types.
        show("api_hgetall", client.hgetall("resp3:h"))
        show("api_zscore", client.zscore("resp3:z", "b"))
        show("api_info_version", client.info("server")["redis_version"])

        # Pub/Sub: confirmations arrive as pushes, which redis-py hands to the pubsub object.
        pubsub = client.pubsub()
        pubsub.subscribe("resp3:channel")
        message = pubsub.get_message(timeout=5)
        show("pubsub_subscribe", (message["type"], message["channel"], message["data"]))
        subscriber = pubsub.connection
        subscriber.send_command("GET", "resp3:s")
        show("pubsub_get_while_subscribed", subscriber.read_response())
        pubsub.close()
        """#
}
