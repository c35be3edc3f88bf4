/// What the arbiter said, as an event a protocol core can take: cores never call the arbiter
/// themselves (it is disk I/O); they ask through an action and the answer comes back as this.
public enum ArbiterAnswer: Equatable, Sendable {
    /// The answer to a read: the highest epoch taken, or nil for an unused arbiter.
    case current(EpochRecord?)
    /// The answer to a take.
    case took(TakeResult)
    /// No answer: the arbiter could not be read or written. Nobody goes live on it.
    case failed(ArbiterError)
}
