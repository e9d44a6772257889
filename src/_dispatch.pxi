# The bulk kernels (train, predict, losses) run from a table of function
# pointers: this module's own build of _kernels.pxi (the baseline: SSE2 on
# x86-64, NEON on arm64), or, on x86-64 CPUs that have them, the builds for
# x86-64-v3 (AVX2) or x86-64-v4 (AVX-512) in backprop._kernels_v3/_v4.  All
# builds give the same bits; single-sample calls (learn_one, trace) always
# use this module's own code.

cdef extern from "bp_cpu.h":
    int bp_cpu_level() nogil

cdef bp_kernels BASELINE
fill_table(&BASELINE, b"baseline")
cdef const bp_kernels* KERNELS = &BASELINE
cdef object _kernel_module = None

# level name -> (module, CPU level it needs)
_KERNELS = "backprop._kernels32" if BP_REAL_IS_FLOAT32 else "backprop._kernels"
KERNEL_VARIANTS = {"x86-64-v3": (_KERNELS + "_v3", 3), "x86-64-v4": (_KERNELS + "_v4", 4)}


def cpu_level():
    """1 for a baseline x86-64 CPU, 3 or 4 for one with the x86-64-v3/v4
    features, 0 for other architectures."""
    return bp_cpu_level()


def available_kernels():
    """The kernel builds this CPU can run, fastest last."""
    names = ["baseline"]
    for name, (module, level) in KERNEL_VARIANTS.items():
        if bp_cpu_level() >= level and importlib.util.find_spec(module) is not None:
            names.append(name)
    return names


def active_kernels():
    return KERNELS.name.decode()


def use_kernels(str name):
    """Run the bulk kernels from the named build ("baseline", "x86-64-v3",
    "x86-64-v4"); refused if this CPU or this installation lacks it."""
    global KERNELS, _kernel_module
    if name == "baseline":
        KERNELS = &BASELINE
        _kernel_module = None
        return
    if name not in KERNEL_VARIANTS:
        raise ValueError(f"unknown kernel build {name!r}; expected one of "
                         f"{['baseline'] + list(KERNEL_VARIANTS)}")
    module_name, level = KERNEL_VARIANTS[name]
    if bp_cpu_level() < level:
        raise RuntimeError(f"this CPU cannot run the {name} kernels (its level is "
                           f"{bp_cpu_level()}); available: {available_kernels()}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RuntimeError(f"the {name} kernels are not part of this installation: {exc}") from None
    KERNELS = <const bp_kernels*>PyCapsule_GetPointer(module.table, BP_KERNELS_CAPSULE)
    _kernel_module = module


def _select_kernels():
    """At import: the build named by BACKPROP_KERNELS, else the fastest available."""
    forced = os.environ.get("BACKPROP_KERNELS", "")
    if forced:
        try:
            use_kernels(forced)
        except (ValueError, RuntimeError) as exc:
            raise ImportError(f"BACKPROP_KERNELS={forced}: {exc}") from None
    else:
        names = available_kernels()
        use_kernels(names[len(names) - 1])


_select_kernels()
