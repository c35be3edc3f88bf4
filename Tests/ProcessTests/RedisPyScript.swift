/// What every redis-py program of the process tests starts with: redis-py imported (exit 3, naming what is missing,
/// when it is not installed, which the tests report as such), and `host`, `port` from the first two arguments.
enum RedisPyScript {
    static let preamble = #"""
        import sys

        try:
            import redis
        except ImportError as error:
            print(f"missing redis-py: {error}", flush=True)
            sys.exit(3)

        host, port = sys.argv[1], int(sys.argv[2])

        """#
}
