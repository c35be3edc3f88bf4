/// A kind of command by name: a sorted array searched by bisection.
///
/// The tables are a few dozen fixed names, and every request looks its name up twice on the primary (route,
/// then apply): a handful of word comparisons costs less than hashing the name with the seeded `Hasher`.
struct CommandTable<Command: CaseIterable & RawRepresentable & Sendable>: Sendable where Command.RawValue == String {
    private let names: [CommandName]
    private let commands: [Command]

    /// Every case of `Command`, named by its raw value.
    init() {
        let sorted = Command.allCases.map { (name: CommandName($0.rawValue.utf8)!, command: $0) }
            .sorted { $0.name < $1.name }
        names = sorted.map(\.name)
        commands = sorted.map(\.command)
    }

    /// The command `name` names, if any.
    subscript(name: CommandName) -> Command? {
        var low = 0
        var high = names.count
        while low < high {
            let middle = (low + high) / 2
            if names[middle] < name { low = middle + 1 } else { high = middle }
        }
        return low < names.count && names[low] == name ? commands[low] : nil
    }
}
