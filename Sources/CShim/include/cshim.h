// The headers Swift's Glibc module map leaves out (see ../shared/IO-FINDINGS.md, pitfall 1).
#ifndef LOCKSTEP_CSHIM_H
#define LOCKSTEP_CSHIM_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>

// errno is a macro over a thread-local; reading it through a function keeps Swift honest about when.
static inline int cshim_errno(void) { return errno; }

// Pins the calling thread to CPU `cpu`, for tests that need two threads to share one CPU: Glibc declares
// sched_setaffinity only under _GNU_SOURCE, so this goes through the raw system call. 0 on success.
#include <sys/syscall.h>
#include <unistd.h>
static inline int cshim_pin_to_cpu(int cpu) {
    unsigned long mask[16] = {0};
    if (cpu < 0 || cpu >= 16 * 64) return -1;
    mask[cpu / 64] = 1UL << (cpu % 64);
    return syscall(SYS_sched_setaffinity, 0, sizeof mask, mask) == 0 ? 0 : -1;
}

// Makes every allocation of at least `bytes` a mapping of its own, unmapped when freed; glibc's malloc.h is not in
// Swift's Glibc module map. 1 if set. Other C libraries have no such knob: 0.
#if defined(__GLIBC__)
#include <malloc.h>
static inline int cshim_set_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
#else
static inline int cshim_set_mmap_threshold(int bytes) { (void)bytes; return 0; }
#endif

// CRC-32C in hardware (SSE4.2), for the frame checksum; LogChannel falls back to tables where this is absent.
#if defined(__x86_64__)
#include <stdint.h>
static inline int cshim_cpu_has_crc32c(void) { return __builtin_cpu_supports("sse4.2"); }
__attribute__((target("sse4.2"))) static inline uint32_t cshim_crc32c_u64(uint32_t crc, uint64_t value) {
    return (uint32_t)__builtin_ia32_crc32di(crc, value);
}
__attribute__((target("sse4.2"))) static inline uint32_t cshim_crc32c_u8(uint32_t crc, uint8_t value) {
    return __builtin_ia32_crc32qi(crc, value);
}
#endif
#endif
