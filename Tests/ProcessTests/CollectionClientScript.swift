/// The redis-py program `CollectionClientTests` runs against a primary: every command family of hashes, sets, lists and
/// sorted sets
/// through the library's own methods, and WRONGTYPE as the library raises it. Arguments: host, port. Prints one
/// `name=value` line per finding and exits 0; an exception exits non-zero with its traceback, and a missing redis-py
/// exits 3.
enum CollectionClientScript {
    static let source = RedisPyScript.preamble + #"""
        r = redis.Redis(host=host, port=port, protocol=2, decode_responses=True)

        # Hashes
        print(f"hset={r.hset('user:1', mapping={'name': 'ada', 'visits': 1, 'score': '1.5'})}")
        print(f"hget={r.hget('user:1', 'name')}")
        print(f"hgetall={sorted(r.hgetall('user:1').items())}")
        print(f"hincrby={r.hincrby('user:1', 'visits', 41)}")
        print(f"hincrbyfloat={r.hincrbyfloat('user:1', 'score', 0.1)}")
        print(f"hmget={r.hmget('user:1', ['name', 'missing'])}")
        print(f"hsetnx={r.hsetnx('user:1', 'name', 'bob')}")
        print(f"hlen_hexists_hstrlen={r.hlen('user:1')},{r.hexists('user:1', 'name')},{r.hstrlen('user:1', 'name')}")
        print(f"hkeys_hvals={sorted(r.hkeys('user:1'))},{sorted(r.hvals('user:1'))}")
        print(f"hrandfield={r.hrandfield('user:1') in ('name', 'visits', 'score')}")
        print(f"hrandfield_values={len(r.hrandfield('user:1', -6, withvalues=True))}")
        print(f"hdel={r.hdel('user:1', 'score', 'nope')}")
        print(f"type_hash={r.type('user:1')}")

        # Sets
        print(f"sadd={r.sadd('tags', 'a', 'b', 'c', 'a')}")
        r.sadd('other', 'b', 'c', 'd')
        print(f"smembers={sorted(r.smembers('tags'))}")
        print(f"sismember={r.sismember('tags', 'a')},{r.smismember('tags', ['a', 'z'])}")
        print(f"algebra={sorted(r.sinter('tags', 'other'))},{sorted(r.sunion('tags', 'other'))},"
              f"{sorted(r.sdiff('tags', 'other'))}")
        print(f"sinterstore={r.sinterstore('both', ['tags', 'other'])},{r.sintercard(2, ['tags', 'other'], limit=1)}")
        print(f"smove={r.smove('tags', 'other', 'a')},{r.scard('tags')},{r.scard('other')}")
        print(f"srandmember={len(r.srandmember('other', -10))}")
        popped = r.spop('tags', 5)
        print(f"spop={sorted(popped)},{r.exists('tags')}")
        print(f"srem={r.srem('other', 'b', 'zz')}")
        print(f"type_set={r.type('other')}")

        # Lists
        print(f"rpush={r.rpush('queue', 'one', 'two', 'three')},{r.lpush('queue', 'zero')}")
        print(f"lrange={r.lrange('queue', 0, -1)}")
        print(f"lpop={r.lpop('queue')},{r.rpop('queue', 2)}")
        print(f"lpushx={r.lpushx('queue', 'a')},{r.rpushx('none', 'a')}")
        print(f"lindex_lset={r.lindex('queue', -1)},{r.lset('queue', 0, 'A')}")
        print(f"linsert={r.linsert('queue', 'after', 'A', 'B')},{r.lrange('queue', 0, -1)}")
        r.rpush('queue', 'x', 'x', 'y', 'x')
        print(f"lrem={r.lrem('queue', -2, 'x')},{r.lpos('queue', 'x')},{r.lpos('queue', 'x', count=0)}")
        print(f"lmove={r.lmove('queue', 'done', 'LEFT', 'RIGHT')},{r.rpoplpush('queue', 'done')}")
        print(f"ltrim={r.ltrim('queue', 0, 0)},{r.lrange('queue', 0, -1)},{r.llen('done')}")
        print(f"type_list={r.type('done')}")

        # Sorted sets
        print(f"zadd={r.zadd('board', {'ada': 10, 'bob': 7.5, 'cy': 12})},{r.zadd('board', {'bob': 9}, ch=True)}")
        print(f"zincrby={r.zincrby('board', 1.1, 'ada')},{r.zadd('board', {'cy': 1}, gt=True)}")
        print(f"zscore={r.zscore('board', 'ada')},{r.zmscore('board', ['bob', 'nobody'])}")
        print(f"zrange={r.zrange('board', 0, -1, withscores=True)}")
        print(f"zrevrange={r.zrevrange('board', 0, 1)},{r.zrangebyscore('board', '(9', '+inf')}")
        print(f"zrank={r.zrank('board', 'ada')},{r.zrevrank('board', 'ada')},{r.zcard('board')},"
              f"{r.zcount('board', 9, 11.1)}")
        r.zadd('letters', {'a': 0, 'b': 0, 'c': 0, 'd': 0})
        print(f"zrangebylex={r.zrangebylex('letters', '[b', '+')},{r.zlexcount('letters', '-', '(c')}")
        print(f"zunionstore={r.zunionstore('combined', {'board': 1, 'letters': 2})},"
              f"{r.zinter(['board', 'combined'], withscores=True)}")
        print(f"zpopmin={r.zpopmin('letters')},{r.zpopmax('letters', 2)}")
        print(f"zmpop={r.zmpop(2, ['empty', 'board'], min=True, count=1)}")
        print(f"zrandmember={len(r.zrandmember('board', -4, withscores=True))}")
        print(f"zremrangebyscore={r.zremrangebyscore('combined', '-inf', 9)},{r.zrange('combined', 0, -1)}")
        print(f"zrangestore={r.zrangestore('top', 'combined', 0, 0, desc=True)},{r.zrange('top', 0, -1)}")
        print(f"zdiff={r.zdiff(['combined', 'top'], withscores=True)},{r.zintercard(2, ['combined', 'top'])}")
        print(f"type_zset={r.type('board')}")

        # Blocking pops: a waiter on one connection served by another's push; a timeout; a pop with elements at hand
        import threading, time
        waiter = redis.Redis(host=host, port=port, protocol=2, decode_responses=True)
        got = []
        thread = threading.Thread(target=lambda: got.append(waiter.blpop(['jobs', 'other_jobs'], timeout=5)))
        thread.start()
        deadline = time.monotonic() + 5
        while int(r.info('clients')['blocked_clients']) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        r.rpush('other_jobs', 'job1')
        thread.join(10)
        print(f"blpop={got},{r.blpop('missing', timeout=0.1)},{r.bzpopmin('board', timeout=1)}")

        # Kinds meet
        r.set('plain', 'v')
        for name, call in [('hget', lambda: r.hget('plain', 'f')), ('sadd', lambda: r.sadd('plain', 'm')),
                           ('lpush', lambda: r.lpush('plain', 'e')), ('zadd', lambda: r.zadd('plain', {'m': 1})),
                           ('zrange', lambda: r.zrange('user:1', 0, -1)), ('get', lambda: r.get('user:1'))]:
            try:
                call()
                print(f"{name}_wrongtype=None")
            except redis.ResponseError as error:
                print(f"{name}_wrongtype={str(error).split(' ')[0]}")
        print(f"dbsize={r.dbsize()},{sorted(r.keys('*'))}")
        """#
}
