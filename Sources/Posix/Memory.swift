import CShim

/// The process's heap, as the system sees it.
public enum Memory {
    /// Allocations at least this large are mapped on their own and unmapped when freed.
    public static let ownMappingThresholdBytes = 128 << 10

    /// Makes every allocation of at least `ownMappingThresholdBytes` a mapping of its own, returned to the system the
    /// moment it is freed; true if the C library took the setting.
    ///
    /// glibc keeps freed heap memory for reuse and returns only what sits at the very top of a heap, so after many
    /// large buffers are freed (query buffers, big values, frames) the resident set would stay near its peak. glibc
    /// maps large allocations on their own by default, but raises that threshold each time one is freed, up to 32 MiB,
    /// after which they come from the heap again; fixing it keeps them mapped. The alternative, `malloc_trim`, walks
    /// the whole heap: on a gigabyte of state it held the event loop for tens of milliseconds. Process-wide, and set
    /// before the first large allocation so that all of them take it.
    @discardableResult
    public static func returnLargeBuffersWhenFreed() -> Bool {
        cshim_set_mmap_threshold(CInt(ownMappingThresholdBytes)) == 1
    }
}
