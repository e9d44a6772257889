/* The x86-64 instruction-set level of the CPU that runs backprop
   (src/_dispatch.pxi declares it), which picks the kernel build.

   bp_cpu_level() is 4 when the CPU has every feature of x86-64-v4 (AVX-512
   F, BW, CD, DQ, VL on top of x86-64-v3), 3 for x86-64-v3 (AVX, AVX2, FMA,
   BMI1, BMI2), 1 for any other x86-64 CPU, and 0 on other architectures.
   gcc and clang ask their runtime (__builtin_cpu_supports); with MSVC the
   function reads CPUID itself, and XCR0 for the operating system's support of
   the AVX and AVX-512 register state. */
#ifndef BP_CPU_H
#define BP_CPU_H

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
static int bp_cpu_level(void) {
    __builtin_cpu_init();
    int v3 = __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2")
          && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi")
          && __builtin_cpu_supports("bmi2");
    int v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
          && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq")
          && __builtin_cpu_supports("avx512vl");
    return v4 ? 4 : (v3 ? 3 : 1);
}
#elif defined(_MSC_VER) && defined(_M_X64)
#include <intrin.h>
static int bp_cpu_level(void) {
    int r[4];
    unsigned long long xcr0 = 0;
    int v3, v4;
    __cpuid(r, 0);
    if (r[0] < 7) return 1;
    __cpuid(r, 1);
    int fma = (r[2] >> 12) & 1, osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
    if (osxsave) xcr0 = _xgetbv(0);
    __cpuidex(r, 7, 0);
    int bmi1 = (r[1] >> 3) & 1, avx2 = (r[1] >> 5) & 1, bmi2 = (r[1] >> 8) & 1;
    int f = (r[1] >> 16) & 1, dq = (r[1] >> 17) & 1, cd = (r[1] >> 28) & 1;
    int bw = (r[1] >> 30) & 1, vl = (r[1] >> 31) & 1;
    v3 = fma && avx && avx2 && bmi1 && bmi2 && (xcr0 & 0x6) == 0x6;
    v4 = v3 && f && dq && cd && bw && vl && (xcr0 & 0xE6) == 0xE6;
    return v4 ? 4 : (v3 ? 3 : 1);
}
#else
static int bp_cpu_level(void) { return 0; }
#endif

#endif /* BP_CPU_H */
