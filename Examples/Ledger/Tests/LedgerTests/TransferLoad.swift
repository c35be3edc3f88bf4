import Glibc
import Synchronization

/// Clients doing transfers as fast as replies come, each recording every operation the ledger acknowledged.
///
/// Each worker owns its own accounts and sends one request at a time, so its model of their balances is exact:
/// after every acknowledged transfer, the balances the survivor of a failover holds must be the model's, except
/// for the one request that was in flight when the connection broke (`uncertain`), which may or may not have run.
final class TransferLoad: @unchecked Sendable {  // unchecked: a worker's fields are its thread's until joined
    /// What a transfer moved; `id` is the ledger's, from its reply.
    struct Transfer {
        var id: String
        var from: String
        var to: String
        var amount: Int64
    }

    /// One client thread and what it learned.
    final class Worker: @unchecked Sendable {
        let accounts: [String]
        /// The balances implied by every acknowledged reply.
        var model: [String: Int64]
        /// Every acknowledged transfer, in order.
        var acked: [Transfer] = []
        /// The request in flight when the connection failed: its outcome is unknown.
        var uncertain: (from: String, to: String, amount: Int64)?
        /// A reply that contradicted the model (a wrong balance, a refused transfer the model could afford).
        var contradictions: [String] = []
        var endReason = "stopped"
        fileprivate var thread = pthread_t()
        fileprivate var generator: UInt64

        init(accounts: [String], startingBalance: Int64, seed: UInt64) {
            self.accounts = accounts
            model = Dictionary(uniqueKeysWithValues: accounts.map { ($0, startingBalance) })
            generator = seed
        }

        /// SplitMix64, so a run's choice of transfers depends only on the seed.
        fileprivate func next(below bound: Int) -> Int {
            generator &+= 0x9E37_79B9_7F4A_7C15
            var value = generator
            value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
            value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((value ^ (value >> 31)) % UInt64(bound))
        }
    }

    let workers: [Worker]
    private let port: UInt16
    private let isStopping = Atomic<Bool>(false)
    private let ackedTotal = Atomic<Int>(0)
    private var isJoined = false

    /// Starts `workers.count` threads against the ledger at 127.0.0.1:`port`; their accounts must exist, funded.
    init(port: UInt16, workers: [Worker]) throws {
        self.port = port
        self.workers = workers
        for worker in workers {
            let context = Unmanaged.passRetained(Running(load: self, worker: worker)).toOpaque()
            let code = pthread_create(&worker.thread, nil, { context in
                Unmanaged<Running>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, context)
            guard code == 0 else {
                stop()
                throw HarnessError("pthread_create failed: errno \(code)")
            }
        }
    }

    /// Operations acknowledged so far, transfers and refusals for want of funds alike.
    var ackedCount: Int { ackedTotal.load(ordering: .relaxed) }

    /// Tells every worker to finish its request and waits for them (each request times out, so this ends). Idempotent.
    func stop() {
        isStopping.store(true, ordering: .relaxed)
        guard !isJoined else { return }
        isJoined = true
        for worker in workers where worker.thread != pthread_t() { pthread_join(worker.thread, nil) }
    }

    /// A worker's thread body and what it needs; a class, to cross into the thread as one pointer.
    private final class Running {
        let load: TransferLoad
        let worker: Worker

        init(load: TransferLoad, worker: Worker) {
            self.load = load
            self.worker = worker
        }

        func run() {
            let client: LineClient
            do {
                client = try LineClient(port: load.port)
            } catch {
                worker.endReason = "\(error)"
                return
            }
            while !load.isStopping.load(ordering: .relaxed) {
                let from = worker.accounts[worker.next(below: worker.accounts.count)]
                var to = from
                while to == from { to = worker.accounts[worker.next(below: worker.accounts.count)] }
                let amount = Int64(worker.next(below: 40) + 1)
                let reply: String
                do {
                    reply = try client.request("TRANSFER \(from) \(to) \(amount)")
                } catch {
                    worker.uncertain = (from, to, amount)
                    worker.endReason = "\(error)"
                    return
                }
                let words = reply.split(separator: " ")
                if words.count == 3, words[0] == "OK", let balance = Int64(words[1]) {
                    worker.model[from]! -= amount
                    worker.model[to]! += amount
                    if balance != worker.model[from] {
                        worker.contradictions.append("\(from) has \(balance), model \(worker.model[from]!)")
                    }
                    worker.acked.append(Transfer(id: String(words[2]), from: from, to: to, amount: amount))
                } else if reply == "ERR insufficient funds" {
                    if worker.model[from]! >= amount {
                        worker.contradictions.append("refused \(amount) from \(from), model \(worker.model[from]!)")
                    }
                } else {
                    // REFUSED promises nothing ran; anything else is a reply the ledger should never give here.
                    if !reply.hasPrefix("REFUSED") { worker.contradictions.append("unexpected reply '\(reply)'") }
                    worker.endReason = reply
                    return
                }
                load.ackedTotal.add(1, ordering: .relaxed)
            }
        }
    }
}
