/// Byte arrays written in one pass through a pointer: command encodings and the commonest replies.
enum ByteArray {
    /// Arrays up to this many bytes are written on the stack first (`written(count:_:)`); nearly every command
    /// encoding and value reply is.
    static let stackWrittenLimit = 512
    /// About what an array of bytes costs beyond its bytes: Swift's header for its storage (32 bytes) and the
    /// allocator's own (16).
    static let allocationOverheadBytes = 48

    /// An array of `count` bytes, every one of them written by `write`.
    ///
    /// `Array(unsafeUninitializedCapacity:)` allocates through a function the standard library does not specialise,
    /// which looks up the array's type at run time, costing more than the rest of a command's encoding (measured in
    /// Benchmarks/README.md). Copying a buffer into a new array is specialised, so a short array is written on the
    /// stack and copied, which costs one copy of a few dozen bytes instead. (Appending the buffer to an empty array
    /// costs more: it goes through the array's growth path.)
    static func written(count: Int, _ write: (UnsafeMutableBufferPointer<UInt8>) -> Void) -> [UInt8] {
        guard count <= stackWrittenLimit else {
            return [UInt8](unsafeUninitializedCapacity: count) { bytes, initialized in
                write(bytes)
                initialized = count
            }
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { scratch in
            write(scratch)
            return Array(UnsafeBufferPointer(scratch))
        }
    }

    /// Replaces the bytes of `array` by `count` bytes written by `write`, in its storage when that is unique and large
    /// enough: on the stack first and copied in one replacement, which costs about what emptying the array alone
    /// costs. At most `stackWrittenLimit` bytes.
    static func replaceContents(of array: inout [UInt8], count: Int, _ write: (UnsafeMutableBufferPointer<UInt8>) -> Void) {
        precondition(count <= stackWrittenLimit, "\(count) bytes to write on the stack")
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { scratch in
            write(scratch)
            array.replaceSubrange(array.indices, with: UnsafeBufferPointer(scratch))
        }
    }

    /// Appends `count` bytes to `array`, every one of them written by `write`: on the stack first and copied in one
    /// append when short, as `written(count:_:)` does.
    static func append(count: Int, to array: inout [UInt8], _ write: (UnsafeMutableBufferPointer<UInt8>) -> Void) {
        guard count <= stackWrittenLimit else {
            // A long reply (a large value) is rare: written into an array of its own, which becomes `array` when that
            // is empty and is copied in one append otherwise. Appending zeros first and overwriting them would go
            // element by element.
            if array.isEmpty {
                array = written(count: count, write)
            } else {
                array.append(contentsOf: written(count: count, write))
            }
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { scratch in
            write(scratch)
            array.append(contentsOf: UnsafeBufferPointer(scratch))
        }
    }
}
