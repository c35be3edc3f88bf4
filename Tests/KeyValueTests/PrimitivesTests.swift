import Testing
@testable import KeyValue

@Suite("integers and glob patterns as Redis reads them")
struct PrimitivesTests {
    @Test("integers follow Redis's string2ll: no sign but minus, no leading zeros, no spaces, 64-bit range")
    func integers() {
        #expect(DecimalInteger.parse(bytes("0")) == 0)
        #expect(DecimalInteger.parse(bytes("-12")) == -12)
        #expect(DecimalInteger.parse(bytes("9223372036854775807")) == Int64.max)
        #expect(DecimalInteger.parse(bytes("-9223372036854775808")) == Int64.min)
        for rejected in ["", "-", "+1", "01", "-0", " 1", "1 ", "9223372036854775808", "1e3", "0x10"] {
            #expect(DecimalInteger.parse(bytes(rejected)) == nil, "\(rejected)")
        }
        #expect(DecimalInteger.text(Int64.min) == bytes("-9223372036854775808"))
    }

    @Test("glob patterns match like Redis: stars, question marks, classes, ranges, negation and escapes")
    func globs() {
        func matches(_ pattern: String, _ string: String) -> Bool { GlobPattern(bytes(pattern)).matches(bytes(string)) }
        #expect(matches("*", ""))
        #expect(matches("h*llo", "heeeello"))
        #expect(matches("h?llo", "hallo"))
        #expect(!matches("h?llo", "hllo"))
        #expect(matches("h[ae]llo", "hello"))
        #expect(!matches("h[^e]llo", "hello"))
        #expect(matches("h[a-b]llo", "hbllo"))
        #expect(matches("h[b-a]llo", "hallo"))
        #expect(matches("a\\*b", "a*b"))
        #expect(!matches("a\\*b", "axb"))
        #expect(matches("*a*a*a*a*a*a*a*a*b", String(repeating: "a", count: 40) + "b"))
        #expect(!matches("*a*a*a*a*a*a*a*a*b", String(repeating: "a", count: 200)))
    }
}

@Suite("command names")
struct CommandNameTests {
    @Test("every command is found under any letter case, and nothing else is")
    func lookups() {
        var generator = SplitMix64(seed: 11)
        for command in DataCommand.allCases {
            let name = Array(command.rawValue.utf8)
            for _ in 0..<8 {
                // Each letter upper-cased or not at random
                let spelling = name.map { generator.next() % 2 == 0 ? $0 : $0 & ~0x20 }
                #expect(CommandName(spelling).flatMap(DataCommand.init(name:)) == command, "\(spelling)")
            }
            // A letter with its high bit set, a letter changed, a byte more or less: no command
            #expect(CommandName(name.map { $0 | 0x80 }).flatMap(DataCommand.init(name:)) == nil)
            #expect(CommandName(name.dropLast() + [UInt8(ascii: "@")]).flatMap(DataCommand.init(name:)) == nil)
            #expect(CommandName(name + [0]).flatMap(DataCommand.init(name:)) == nil)
            // A byte less is another command only where one name extends another (LPUSH, LPUSHX)
            let shorter = CommandName(name.dropLast()).flatMap(DataCommand.init(name:))
            #expect(shorter == nil || shorter?.rawValue.utf8.elementsEqual(name.dropLast()) == true)
        }
        for command in KeyValueFrontend.LocalCommand.allCases {
            let upper = Array(command.rawValue.uppercased().utf8)
            #expect(CommandName(upper).flatMap(KeyValueFrontend.LocalCommand.init(name:)) == command)
        }
        // Names up to 16 bytes are read; longer ones are no name at all
        #expect(CommandName([UInt8](repeating: UInt8(ascii: "A"), count: 16)) != nil)
        #expect(CommandName([UInt8](repeating: UInt8(ascii: "A"), count: 17)) == nil)
        #expect(CommandName(bytes(String("ABCDEFGHIJKLMNOPQ".prefix(16)))) == CommandName(bytes("abcdefghijklmnop")))
        #expect(CommandName(bytes("abcdefghijklmnoP")) != CommandName(bytes("abcdefghijklmnoq")))
    }
}
