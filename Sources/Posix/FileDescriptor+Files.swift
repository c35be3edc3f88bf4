import CShim
import Glibc

/// The calls a durable file needs: positional reads and writes, syncing, truncating, sizing and locking.
extension FileDescriptor {
    /// Writes as much of `bytes` as one `pwrite` takes at `offset`: the count written, which may be short.
    ///
    /// One call, not a loop, so a caller that keeps track of what reached the file can resume after an error
    /// (a disk that fills up in the middle of a buffer) without writing anything twice.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(SystemError) -> Int {
        try retryingInterrupts("pwrite") { Glibc.pwrite(rawValue, bytes.baseAddress, bytes.count, off_t(offset)) }
    }

    /// Reads up to `buffer.count` bytes at `offset`: the count read, `0` at the end of the file.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(SystemError) -> Int {
        try retryingInterrupts("pread") { Glibc.pread(rawValue, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// Flushes the file's data and metadata to stable storage (`fsync`).
    public func synchronize() throws(SystemError) {
        _ = try retryingInterrupts("fsync") { Glibc.fsync(rawValue) }
    }

    /// Flushes the file's data, and the metadata needed to read it back such as its size (`fdatasync`).
    public func synchronizeData() throws(SystemError) {
        _ = try retryingInterrupts("fdatasync") { Glibc.fdatasync(rawValue) }
    }

    /// Cuts or extends the file to `byteCount` bytes (`ftruncate`).
    public func truncate(toByteCount byteCount: Int) throws(SystemError) {
        _ = try retryingInterrupts("ftruncate") { Glibc.ftruncate(rawValue, off_t(byteCount)) }
    }

    /// The file's size in bytes (`fstat`).
    public func byteCount() throws(SystemError) -> Int {
        var information = stat()
        _ = try retryingInterrupts("fstat") { fstat(rawValue, &information) }
        return Int(information.st_size)
    }

    /// Takes an exclusive `flock` without waiting: whether it was taken (`false` when another open file holds it).
    ///
    /// `flock` locks belong to the open file description, so a second `open` of the same file in this process is
    /// refused as another process would be, and the lock goes away with the last descriptor, even on SIGKILL.
    public func lockExclusivelyWithoutWaiting() throws(SystemError) -> Bool {
        do {
            _ = try retryingInterrupts("flock") { cshim_flock(rawValue, cshim_lock_exclusive_nonblocking) }
            return true
        } catch where error.isWouldBlock {
            return false
        }
    }
}
