/* Atomics and a barrier for the team of threads that shares each
   mini-batch (src/_team.pxi declares them).

   A sense-reversing barrier on atomics: waiting threads spin briefly, then
   yield the CPU between looks.  Arriving is an acquire-release add, so what
   a thread wrote before the barrier is visible to every thread after it. */
#ifndef BP_TEAM_H
#define BP_TEAM_H

#if defined(_MSC_VER)
#define WIN32_LEAN_AND_MEAN
#define NOMINMAX
#include <windows.h>
#define BP_ADD_FETCH(p, v) (_InterlockedExchangeAdd((volatile long *)(p), (v)) + (v))
#define BP_LOAD(p) _InterlockedOr((volatile long *)(p), 0)
#define BP_STORE(p, v) _InterlockedExchange((volatile long *)(p), (v))
#define BP_PAUSE() YieldProcessor()
#define BP_YIELD() SwitchToThread()
#else
#include <sched.h>
#define BP_ADD_FETCH(p, v) __atomic_add_fetch((p), (v), __ATOMIC_ACQ_REL)
#define BP_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define BP_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define BP_YIELD() sched_yield()
#if defined(__x86_64__) || defined(__i386__)
#define BP_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define BP_PAUSE() __asm__ __volatile__("yield")
#else
#define BP_PAUSE() ((void)0)
#endif
#endif
/* Wait until n threads have arrived (*local: this thread's phase). */
static void bp_barrier(int *count, int *sense, int n, int *local) {
    int s = !*local, spins = 0;
    *local = s;
    if (BP_ADD_FETCH(count, 1) == n) {
        BP_STORE(count, 0);
        BP_STORE(sense, s);
        return;
    }
    while (BP_LOAD(sense) != s) {
        if (++spins < 2048)
            BP_PAUSE();
        else
            BP_YIELD();
    }
}

#endif /* BP_TEAM_H */
