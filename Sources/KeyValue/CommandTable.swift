/// A kind of command by name: a small open-addressing hash table.
///
/// The tables are a few dozen fixed names, and every request looks its name up twice on the primary (route,
/// then apply). One multiply and usually one comparison cost a fraction of a bisection over the sorted names
/// (measured in Benchmarks/README.md).
struct CommandTable<Command: CaseIterable & RawRepresentable & Sendable>: Sendable where Command.RawValue == String {
    private let names: [CommandName?]
    private let commands: [Command?]
    private let bits: Int

    /// Every case of `Command`, named by its raw value.
    init() {
        // At most a quarter full, so probes are short, and never full, so a probe for an absent name ends.
        var bits = 2
        while 1 << bits < 4 * Command.allCases.count { bits += 1 }
        var names = [CommandName?](repeating: nil, count: 1 << bits)
        var commands = [Command?](repeating: nil, count: 1 << bits)
        for command in Command.allCases {
            let name = CommandName(command.rawValue.utf8)!
            var slot = name.slot(bits: bits)
            while names[slot] != nil { slot = (slot + 1) & (names.count - 1) }
            names[slot] = name
            commands[slot] = command
        }
        self.names = names
        self.commands = commands
        self.bits = bits
    }

    /// The command `name` names, if any.
    subscript(name: CommandName) -> Command? {
        var slot = name.slot(bits: bits)
        // Ends at the first empty slot: the table is never full.
        while let candidate = names[slot] {
            if candidate == name { return commands[slot] }
            slot = (slot + 1) & (names.count - 1)
        }
        return nil
    }
}
