// The `Lockstep` library product: `import Lockstep` is all an application needs to make its service fault
// tolerant. Implement `StateMachine` (Replication) and `ClientProtocol`, pick an `Arbiter`, and run a
// `NodeRuntime` (Runtime) on each of two machines; Examples/Ledger walks through it.
//
// The modules behind it stay separate so that each concept has one folder (the protocol cores never see a
// socket); this file only re-exports the ones an application touches.

@_exported import Arbiter
@_exported import Backup
@_exported import Durability
@_exported import EtcdArbiter
@_exported import Node
@_exported import Primary
@_exported import Replication
@_exported import Runtime
