/// A request waiting for a session, or for room in its window: not numbered, never sent.
struct PendingRequest: Equatable {
    let id: RequestID
    let command: RESPCommand
    let deadline: Duration
}
