import Glibc

/// Registering descriptors with the loop: each gets a slot, a handler and an epoll interest.
extension EventLoop {

    /// Watches `descriptor` and calls `handler` on the loop thread whenever it is ready for `interest` (or has hung
    /// up). The loop takes ownership of the descriptor.
    public func register(
        _ descriptor: FileDescriptor, interest: Interest, handler: @escaping (Events) -> Void
    ) throws(SystemError) -> Registration {
        precondition(isOwnedByCaller, "EventLoop.register off the loop thread")
        let slot: UInt32
        if let free = freeSlots.popLast() {
            slot = free
        } else {
            slot = UInt32(slots.count)
            slots.append(Slot())
        }
        slots[Int(slot)].generation &+= 1
        if slots[Int(slot)].generation == 0 { slots[Int(slot)].generation = 1 }
        let registration = Registration(slot: slot, generation: slots[Int(slot)].generation)
        do {
            try epoll.add(descriptor, events: Self.epollEvents(interest), data: Self.data(registration))
        } catch {
            freeSlots.append(slot)
            throw error
        }
        slots[Int(slot)].descriptor = descriptor
        slots[Int(slot)].interest = interest
        slots[Int(slot)].handler = handler
        return registration
    }

    /// Changes what a registration listens for; a no-op if unchanged, so callers may set it freely.
    public func setInterest(_ interest: Interest, for registration: Registration) throws(SystemError) {
        precondition(isOwnedByCaller, "EventLoop.setInterest off the loop thread")
        guard let descriptor = descriptor(of: registration) else { return }
        let index = Int(registration.slot)
        guard slots[index].interest != interest else { return }
        try epoll.modify(descriptor, events: Self.epollEvents(interest), data: Self.data(registration))
        slots[index].interest = interest
    }

    /// The interest last set for a registration (empty once it is gone).
    public func interest(of registration: Registration) -> Interest {
        descriptor(of: registration) == nil ? [] : slots[Int(registration.slot)].interest
    }

    /// The descriptor behind a live registration.
    public func descriptor(of registration: Registration) -> FileDescriptor? {
        let index = Int(registration.slot)
        guard index < slots.count, slots[index].generation == registration.generation else { return nil }
        return slots[index].descriptor
    }

    /// Stops watching a descriptor and hands it back to the caller, open. Events already taken this round for it
    /// are dropped. `nil` if the registration was already gone.
    @discardableResult
    public func deregister(_ registration: Registration) -> FileDescriptor? {
        precondition(isOwnedByCaller, "EventLoop.deregister off the loop thread")
        guard let descriptor = descriptor(of: registration) else { return nil }
        // Closing would remove it too, but an explicit DEL keeps a dup'd descriptor from firing on.
        try? epoll.remove(descriptor)  // fails only if the kernel already dropped it, which is the goal
        let index = Int(registration.slot)
        slots[index] = Slot(generation: slots[index].generation)
        freeSlots.append(registration.slot)
        return descriptor
    }

    /// Stops watching a descriptor and closes it. A no-op if the registration was already gone.
    public func close(_ registration: Registration) {
        try? deregister(registration)?.close()  // a close error leaves nothing to retry or undo
    }
}
