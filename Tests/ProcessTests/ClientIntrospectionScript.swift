/// The redis-py program `ClientIntrospectionTests` runs against a primary: HELLO 2, CLIENT SETNAME/GETNAME/INFO,
/// INFO, and a default client (which asks for RESP3) getting it, with no "Falling back to RESP2" warning
/// (`RESP3ClientTests` checks RESP3's replies). Arguments: host, port. Prints one `name=value` line per
/// finding and exits 0; an exception exits non-zero with its traceback, and a missing redis-py exits 3.
enum ClientIntrospectionScript {
    static let source = RedisPyScript.preamble + #"""
        import logging
        client = redis.Redis(host=host, port=port, protocol=2, decode_responses=True)
        hello = client.execute_command("HELLO", "2")
        fields = dict(zip(hello[0::2], hello[1::2])) if isinstance(hello, list) else hello
        print(f"hello_proto={fields['proto']}")
        print(f"hello_server={fields['server']}")
        print(f"hello_role={fields['role']}")
        print(f"setname={client.client_setname('py-worker')}")
        print(f"getname={client.client_getname()}")
        print(f"client_info_name={client.client_info()['name']}")
        print(f"client_list_names={','.join(sorted(c['name'] for c in client.client_list() if c['name']))}")
        client.set("introspection:a", "1")
        client.set("introspection:b", "2", ex=100)
        info = client.info()
        print(f"redis_version={info['redis_version']}")
        print(f"connected_clients_positive={info['connected_clients'] >= 1}")
        print(f"used_memory_positive={info['used_memory'] > 0}")
        print(f"db0={info['db0']}")
        print(f"keyspace_only={sorted(client.info('keyspace').keys())}")


        class Capture(logging.Handler):
            def __init__(self):
                super().__init__()
                self.messages = []

            def emit(self, record):
                self.messages.append(record.getMessage())


        capture = Capture()
        logging.getLogger().addHandler(capture)
        default = redis.Redis(host=host, port=port, decode_responses=True)
        print(f"default_ping={default.ping()}")
        print(f"default_fell_back={any('Falling back to RESP2' in m for m in capture.messages)}")
        """#
}
