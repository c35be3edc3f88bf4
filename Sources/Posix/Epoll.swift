import CShim
import Glibc

/// The epoll calls, wrapped once; `EventLoop` is their only user.
struct Epoll {
    let descriptor: FileDescriptor

    init() throws(SystemError) {
        let raw = try retryingInterrupts("epoll_create1") { epoll_create1(CInt(EPOLL_CLOEXEC)) }
        descriptor = FileDescriptor(rawValue: raw)
    }

    func add(_ fd: FileDescriptor, events: UInt32, data: UInt64) throws(SystemError) {
        try control(EPOLL_CTL_ADD, fd, events: events, data: data)
    }

    func modify(_ fd: FileDescriptor, events: UInt32, data: UInt64) throws(SystemError) {
        try control(EPOLL_CTL_MOD, fd, events: events, data: data)
    }

    func remove(_ fd: FileDescriptor) throws(SystemError) {
        try control(EPOLL_CTL_DEL, fd, events: 0, data: 0)
    }

    /// Waits for events; `timeoutMilliseconds` -1 waits forever. Returns how many entries of `events` are filled.
    func wait(
        into events: UnsafeMutableBufferPointer<epoll_event>, timeoutMilliseconds: CInt
    ) throws(SystemError) -> Int {
        Int(try retryingInterrupts("epoll_wait") {
            epoll_wait(descriptor.rawValue, events.baseAddress, CInt(events.count), timeoutMilliseconds)
        })
    }

    private func control(_ operation: CInt, _ fd: FileDescriptor, events: UInt32, data: UInt64) throws(SystemError) {
        var event = epoll_event(events: events, data: epoll_data_t(u64: data))
        _ = try retryingInterrupts("epoll_ctl") { epoll_ctl(descriptor.rawValue, operation, fd.rawValue, &event) }
    }
}

/// An eventfd used as a doorbell: any thread (or a signal handler) rings it to wake an `epoll_wait`.
struct EventCounter {
    let descriptor: FileDescriptor

    init() throws(SystemError) {
        let flags = CInt(EFD_NONBLOCK) | CInt(EFD_CLOEXEC)
        descriptor = FileDescriptor(rawValue: try retryingInterrupts("eventfd") { eventfd(0, flags) })
    }

    /// Adds one. Cannot block in practice: the counter saturates only after 2^64-2 rings without a drain.
    func ring() {
        var one: UInt64 = 1
        _ = try? nilIfWouldBlock("write") { Glibc.write(descriptor.rawValue, &one, 8) }  // a saturated bell still rings
    }

    /// Resets the counter to zero, so level-triggered epoll stops reporting it.
    func drain() {
        var count: UInt64 = 0
        _ = try? nilIfWouldBlock("read") { Glibc.read(descriptor.rawValue, &count, 8) }  // empty is fine
    }
}
