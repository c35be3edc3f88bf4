/// A kind of command by name: a small open-addressing hash table.
///
/// The tables are a few dozen fixed names, and every request looks its name up twice on the primary (route,
/// then apply). One multiply and usually one comparison cost a fraction of a bisection over the sorted names
/// (measured in Benchmarks/README.md).
struct CommandTable<Command: CaseIterable & RawRepresentable & Sendable>: Sendable where Command.RawValue == String {
    private let names: [CommandName?]
    private let commands: [Command?]
    /// Each slot's command's position in `Command.allCases`, so that per-command counters can be arrays.
    private let ordinals: [Int]
    private let bits: Int

    /// Every case of `Command`, named by its raw value.
    init() {
        // At most a quarter full, so probes are short, and never full, so a probe for an absent name ends.
        var bits = 2
        while 1 << bits < 4 * Command.allCases.count { bits += 1 }
        var names = [CommandName?](repeating: nil, count: 1 << bits)
        var commands = [Command?](repeating: nil, count: 1 << bits)
        var ordinals = [Int](repeating: 0, count: 1 << bits)
        for (ordinal, command) in Command.allCases.enumerated() {
            let name = CommandName(command.rawValue.utf8)!
            var slot = name.slot(bits: bits)
            while names[slot] != nil { slot = (slot + 1) & (names.count - 1) }
            names[slot] = name
            commands[slot] = command
            ordinals[slot] = ordinal
        }
        self.names = names
        self.commands = commands
        self.ordinals = ordinals
        self.bits = bits
    }

    /// The command `name` names, if any.
    subscript(name: CommandName) -> Command? {
        entry(name)?.command
    }

    /// The command `name` names and its position in `Command.allCases`, if any.
    @inline(__always)
    func entry(_ name: CommandName) -> (command: Command, ordinal: Int)? {
        var slot = name.slot(bits: bits)
        // Ends at the first empty slot: the table is never full.
        while let candidate = names[slot] {
            if candidate == name, let command = commands[slot] { return (command, ordinals[slot]) }
            slot = (slot + 1) & (names.count - 1)
        }
        return nil
    }
}
