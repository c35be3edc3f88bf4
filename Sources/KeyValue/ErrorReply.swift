/// A refusal whose `reply` is Redis's error for it, as a value a throw or a `Result` can carry (SCAN's options, a
/// blocking pop's timeout).
struct ErrorReply: Error, Equatable {
    var reply: [UInt8]
}
