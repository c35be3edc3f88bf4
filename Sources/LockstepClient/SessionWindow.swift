/// The numbered requests of one session that have no reply yet, and the numbers' order.
///
/// Numbers start at 1 and go up by one; a number is given only when the request is sent, so requests that wait,
/// time out or are cancelled before that leave no gap. At most `requestsInFlightLimit` numbers are unanswered, so
/// every one of them stays within the replies the server keeps. Answers come in number order on one connection,
/// which keeps `acknowledge` O(1).
struct SessionWindow {
    /// The session's id from `SESSION OPEN`; nil before one is open or after it was abandoned.
    private(set) var session: Int64?
    /// The number the next request gets.
    private(set) var nextNumber: UInt64 = 1
    /// The lowest number still unanswered (equal to `nextNumber` when none is).
    private(set) var lowestNumber: UInt64 = 1
    private var requests: [UInt64: InFlightRequest] = [:]
    /// In-flight requests whose caller still waits.
    private(set) var callerCount = 0

    /// Unanswered requests, orphans included: what counts against the window.
    var count: Int { requests.count }
    var isEmpty: Bool { requests.isEmpty }

    /// Starts numbering a new session at 1.
    mutating func open(_ session: Int64) {
        precondition(requests.isEmpty, "a session opened while requests of another are in flight")
        self.session = session
        nextNumber = 1
        lowestNumber = 1
    }

    /// Gives `request` the next number; the caller sends it at once.
    mutating func add(_ request: InFlightRequest) -> UInt64 {
        precondition(session != nil, "a request numbered without a session")
        let number = nextNumber
        nextNumber += 1
        requests[number] = request
        if request.id != nil { callerCount += 1 }
        return number
    }

    /// The request with this number, if unanswered.
    subscript(number: UInt64) -> InFlightRequest? { requests[number] }

    /// Removes an answered request and returns it.
    mutating func acknowledge(_ number: UInt64) -> InFlightRequest? {
        guard let request = requests.removeValue(forKey: number) else { return nil }
        if request.id != nil { callerCount -= 1 }
        while lowestNumber < nextNumber, requests[lowestNumber] == nil { lowestNumber += 1 }
        return request
    }

    /// The unanswered requests in number order: the resend after a reconnect.
    var unanswered: [(number: UInt64, request: InFlightRequest)] {
        (lowestNumber..<nextNumber).compactMap { number in requests[number].map { (number, $0) } }
    }

    /// The earliest deadline of a request whose caller still waits.
    var earliestCallerDeadline: Duration? {
        guard callerCount > 0 else { return nil }
        return requests.values.lazy.filter { $0.id != nil }.map(\.deadline).min()
    }

    /// Detaches the caller of every request whose deadline has come: their ids, for the unknown-outcome answer.
    mutating func detachCallers(dueBy now: Duration) -> [RequestID] {
        var due: [RequestID] = []
        for number in lowestNumber..<nextNumber {
            guard let request = requests[number], let id = request.id, request.deadline <= now else { continue }
            requests[number]?.id = nil
            callerCount -= 1
            due.append(id)
        }
        return due
    }

    /// Detaches the caller of request `id`, if it is in flight; whether it was.
    mutating func detachCaller(_ id: RequestID) -> Bool {
        guard let number = requests.first(where: { $0.value.id == id })?.key else { return false }
        requests[number]?.id = nil
        callerCount -= 1
        return true
    }

    /// Every transmission so far may have reached the server: the connection carrying them is gone.
    mutating func noteConnectionLost() {
        for number in requests.keys { requests[number]?.wasSentOnLostConnection = true }
    }

    /// Ends the session here: returns every unanswered request in number order and forgets the session, whose
    /// numbers must never be reused.
    mutating func abandon() -> [InFlightRequest] {
        let abandoned = unanswered.map(\.request)
        requests = [:]
        callerCount = 0
        session = nil
        nextNumber = 1
        lowestNumber = 1
        return abandoned
    }
}
