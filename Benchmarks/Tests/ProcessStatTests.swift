import Testing

@testable import BenchmarkKit

@Suite("/proc parsing")
struct ProcessStatTests {
    @Test("utime and stime are read after the last parenthesis, whatever the command name holds")
    func statLine() {
        let line = "1234 (lock step) (x)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 100 0 0"
        #expect(ProcessStat.cpuTicks(fromStatLine: line) == 325)
    }

    @Test("VmRSS is read in kibibytes and returned in bytes")
    func status() {
        let text = "Name:\tlockstep\nVmPeak:\t  9000 kB\nVmRSS:\t    4096 kB\nThreads:\t3\n"
        #expect(ProcessStat.residentBytes(fromStatus: text) == 4_194_304)
    }
}
