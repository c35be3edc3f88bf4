import CShim

/// The process's heap, as the system sees it.
public enum Memory {
    /// Hands memory the allocator holds free back to the system (glibc's `malloc_trim(0)`); true if any went back.
    ///
    /// glibc keeps freed heap memory for reuse and returns only what sits at the very top of a heap, so after
    /// many large buffers are freed the resident set stays near its peak. This walks every arena's free chunks
    /// and releases their whole pages: its cost grows with the heap, so callers rate-limit it.
    @discardableResult
    public static func returnFreed() -> Bool {
        cshim_malloc_trim() != 0
    }
}
