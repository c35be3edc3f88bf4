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

// pipe2 with O_CLOEXEC, so no child spawned meanwhile on another thread inherits the pipe; Glibc declares pipe2
// only under _GNU_SOURCE, so this goes through the raw system call. 0 on success, -1 and errno otherwise.
#include <fcntl.h>
static inline int cshim_pipe_cloexec(int ends[2]) { return (int)syscall(SYS_pipe2, ends, O_CLOEXEC); }

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
// Moving a service address: rtnetlink (a device's index, hardware address and IPv4 addresses) and a packet socket
// for gratuitous ARP. Most of these are enums or macros of kernel headers that Swift's Glibc module map does not
// carry; as constants here Swift sees them. The values are the kernel's ABI.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netpacket/packet.h>
static const int cshim_netlink_route = NETLINK_ROUTE;
static const int cshim_af_netlink = AF_NETLINK;
static const int cshim_af_packet = AF_PACKET;
static const unsigned short cshim_rtm_newlink = RTM_NEWLINK;
static const unsigned short cshim_rtm_getlink = RTM_GETLINK;
static const unsigned short cshim_rtm_newaddr = RTM_NEWADDR;
static const unsigned short cshim_rtm_deladdr = RTM_DELADDR;
static const unsigned short cshim_rtm_getaddr = RTM_GETADDR;
static const unsigned short cshim_nlmsg_error = NLMSG_ERROR;
static const unsigned short cshim_nlmsg_done = NLMSG_DONE;
static const unsigned short cshim_nlm_f_request = NLM_F_REQUEST;
static const unsigned short cshim_nlm_f_ack = NLM_F_ACK;
static const unsigned short cshim_nlm_f_create = NLM_F_CREATE;
static const unsigned short cshim_nlm_f_excl = NLM_F_EXCL;
static const unsigned short cshim_nlm_f_dump = NLM_F_DUMP;
static const unsigned short cshim_ifa_address = IFA_ADDRESS;
static const unsigned short cshim_ifa_local = IFA_LOCAL;
static const unsigned short cshim_ifla_address = IFLA_ADDRESS;
static const unsigned short cshim_ifla_ifname = IFLA_IFNAME;
static const unsigned char cshim_rt_scope_universe = RT_SCOPE_UNIVERSE;
#include <linux/if_ether.h>
#include <net/if_arp.h>
static const unsigned short cshim_eth_p_arp = ETH_P_ARP;
static const unsigned short cshim_arphrd_ether = ARPHRD_ETHER;
static const unsigned short cshim_arpop_request = ARPOP_REQUEST;
// flock(2): Swift resolves the name to glibc's `struct flock` (the fcntl lock record), not the function.
#include <sys/file.h>
static inline int cshim_flock(int fd, int operation) { return flock(fd, operation); }
static const int cshim_lock_exclusive_nonblocking = LOCK_EX | LOCK_NB;

#endif
