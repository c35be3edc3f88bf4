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
#endif
