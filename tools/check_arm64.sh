#!/usr/bin/env bash
# backprop on arm64 Linux, under emulation, built from the sdist.
#
#   1. an arm64 Debian root (debootstrap --arch=arm64, run by qemu-user-static
#      through binfmt_misc), built once and cached, with python3, python3-venv,
#      python3-dev and gcc; in it a virtual environment with Cython, setuptools,
#      numpy and the test tools from PyPI (Debian 12's numpy is older than the
#      1.26 backprop needs), also cached;
#   2. the sdist, made on the host (python -m build --sdist);
#   3. inside the root: the sdist built and installed with pip, with every
#      compiler warning shown (and any warning failing the step);
#   4. python -m backprop example, checked against the worked example's numbers;
#   5. the tests that cover every kernel path: tests/test_golden.py (the same
#      bits as recorded on x86-64), online, mini-batch and full-batch training
#      in the own loops and on SciPy's BLAS (against the NumPy oracle of
#      tests/reference.py), a team of threads, learn_one and trace, the C API's
#      embedding example (compiled inside the root), save/load, and the
#      project's elementary functions (tests/test_math.py);
#   6. how long each step took.
#
# Usage: sudo tools/check_arm64.sh [--rebuild-root]
#   --rebuild-root   delete the cached root and build it again
# Environment:
#   BACKPROP_ARM64_CACHE   where the root and the host's build tools are kept
#                          (default /var/cache/backprop-arm64)
#   BACKPROP_ARM64_MIRROR  the Debian mirror (default http://deb.debian.org/debian)
#   PYTHON                 the host's interpreter for the sdist (default python3)
# Needs root (debootstrap, chroot, mount) and Debian's qemu-user-static and
# debootstrap: apt-get install qemu-user-static debootstrap binfmt-support.
set -euo pipefail

# The whole script is one function, read by bash before it runs: editing the
# file during a run (which takes a while) cannot change the run.
main() {
    src="$(cd "$(dirname "$0")/.." && pwd)"
    cache="${BACKPROP_ARM64_CACHE:-/var/cache/backprop-arm64}"
    mirror="${BACKPROP_ARM64_MIRROR:-http://deb.debian.org/debian}"
    python="${PYTHON:-python3}"
    root="$cache/root"
    suite=bookworm
    packages=python3,python3-venv,python3-dev,gcc,libc6-dev,ca-certificates
    # Inside the root: the build requirements of pyproject.toml and the test
    # extra's tools that the chosen tests use (SciPy for the BLAS path of
    # mini-batches, threadpoolctl for a team's BLAS threads).
    venv_requirements=("setuptools>=77" "Cython>=3.0.10" "numpy>=2" "pytest>=7" "hypothesis>=6" "mpmath>=1.3"
                       "scipy>=1.9" "threadpoolctl>=3")
    # The tests, and the kernel-path tests of tests/test_kernels.py (its checks of
    # the Cython and x86-64 vectoriser output are about the source, not the CPU).
    tests=(test_golden.py test_worked_example.py test_training.py test_reference.py test_threads.py
           test_io.py test_embedding.py test_network.py test_math.py test_kernels.py)
    kernel_tests="same_bits or reported or environment or chunk or either_direction or fused or small_two_layer"

    rebuild=0
    case "${1:-}" in
        "") ;;
        --rebuild-root) rebuild=1 ;;
        *) echo "usage: $0 [--rebuild-root]" >&2; exit 2 ;;
    esac

    fail() { echo "check_arm64: $*" >&2; exit 1; }
    [ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot and mount)"
    command -v debootstrap > /dev/null || fail "needs debootstrap (apt-get install debootstrap)"
    [ -x /usr/bin/qemu-aarch64-static ] || fail "needs qemu-user-static (apt-get install qemu-user-static)"

    timings=()
    started=0
    step() {
        finish_step
        printf '\n== %s\n' "$1"
        current="$1"
        started=$(date +%s%N)
    }
    finish_step() {
        if [ "$started" != 0 ]; then
            local ms=$((($(date +%s%N) - started) / 1000000))
            timings+=("$(printf '%6d.%d s  %s' $((ms / 1000)) $((ms % 1000 / 100)) "$current")")
        fi
        started=0
    }

    # binfmt_misc runs the root's arm64 binaries through qemu-aarch64-static.
    # Registered without the F flag, the interpreter is looked up inside the
    # root, which then gets a copy at the registered path.
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        update-binfmts --enable qemu-aarch64 || fail "cannot register qemu-aarch64 with binfmt_misc"
    fi
    interpreter="$(sed -n 's/^interpreter //p' /proc/sys/fs/binfmt_misc/qemu-aarch64)"
    copy_interpreter() {
        if ! grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
            install -D -m 755 /usr/bin/qemu-aarch64-static "$root$interpreter"
        fi
    }

    # Unmounts whatever is mounted inside the root (this run's /proc, /sys and
    # /dev, or a killed run's): nothing is deleted or left behind through them.
    unmount_root() {
        local target
        awk -v root="$root/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r | uniq \
            | while read -r target; do umount -l "$target" 2> /dev/null || true; done
    }
    cleanup() {
        unmount_root
        rm -rf "${work:-}"
    }
    trap cleanup EXIT
    unmount_root
    mount_into_root() {
        mount -t proc proc "$root/proc"
        mount --rbind /sys "$root/sys"
        mount --rbind /dev "$root/dev"
        cp /etc/resolv.conf "$root/etc/resolv.conf"
        # pip inside the root trusts the certificates the host's pip trusts (a
        # proxy's own authority, say).
        cp "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" "$root/etc/ssl/host-ca-certificates.crt"
    }
    in_root() {
        chroot "$root" env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
            PIP_CERT=/etc/ssl/host-ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 "$@"
    }

    if [ "$rebuild" = 1 ] || [ ! -e "$root/.backprop-root" ]; then
        step "debootstrap: an arm64 Debian $suite root in $root"
        rm -rf --one-file-system "$root"
        mkdir -p "$cache"
        debootstrap --arch=arm64 --foreign --variant=minbase --include="$packages" "$suite" "$root" "$mirror"
        copy_interpreter
        chroot "$root" /debootstrap/debootstrap --second-stage
        in_root apt-get clean
        touch "$root/.backprop-root"
    fi
    copy_interpreter
    mount_into_root
    [ "$(in_root uname -m)" = aarch64 ] || fail "the root does not run as aarch64: $(in_root uname -m)"

    step "the root's virtual environment (/opt/venv): ${venv_requirements[*]}"
    [ -x "$root/opt/venv/bin/python" ] || in_root python3 -m venv /opt/venv
    in_root /opt/venv/bin/python -m pip install --quiet --upgrade pip "${venv_requirements[@]}"
    in_root /opt/venv/bin/python -c 'import platform, sys, numpy, Cython; print(f"{platform.machine()}: \
Python {sys.version.split()[0]}, numpy {numpy.__version__}, Cython {Cython.__version__}")'
    in_root gcc --version | head -1

    step "the sdist, on the host"
    work="$(mktemp -d)"
    if [ ! -x "$cache/host-tools/bin/python" ]; then
        "$python" -m venv "$cache/host-tools"
        "$cache/host-tools/bin/python" -m pip install --quiet "build>=1.2"
    fi
    "$cache/host-tools/bin/python" -m build --sdist --outdir "$work" "$src" > "$work/sdist.log" 2>&1 \
        || { cat "$work/sdist.log"; fail "python -m build --sdist failed"; }
    sdists=("$work"/*.tar.gz)
    [ ${#sdists[@]} -eq 1 ] || fail "expected one sdist in $work"
    sdist="$(basename "${sdists[0]}")"
    echo "$sdist"
    rm -rf "$root/tmp/backprop"
    mkdir -p "$root/tmp/backprop/run"
    cp "${sdists[0]}" "$root/tmp/backprop/"
    tar -xzf "${sdists[0]}" -C "$root/tmp/backprop"
    tree="/tmp/backprop/${sdist%.tar.gz}"

    step "pip install the sdist (arm64, gcc; the build's compiler output follows)"
    # No build isolation: the venv holds the build requirements already, which
    # saves downloading and unpacking them under emulation on every run.
    in_root /opt/venv/bin/python -m pip install --verbose --no-build-isolation --no-deps --force-reinstall \
        "/tmp/backprop/$sdist" > "$work/install.log" 2>&1 \
        || { cat "$work/install.log"; fail "pip install of the sdist failed"; }
    grep -E '^ *(gcc|aarch64-linux-gnu-gcc) .* -c ' "$work/install.log" | sed -e 's/^ *//' -e 's/ -I[^ ]*//g' || true
    # gcc's "file:line:column: warning:" and Cython's "warning: file:line:column:"
    if grep -E -B2 -A4 '(:[0-9]+:[0-9]+: (warning|error):|^warning: [^ ]+:[0-9]+:[0-9]+:)' "$work/install.log"; then
        fail "the arm64 build printed the compiler warnings above"
    fi
    echo "no compiler warnings"
    in_root /opt/venv/bin/python -c 'from backprop import _core; print("kernel builds:", \
_core.available_kernels(), "active:", _core.active_kernels(), "cpu level:", _core.cpu_level())'

    step "python -m backprop example"
    in_root sh -c "cd /tmp/backprop/run && /opt/venv/bin/python -m backprop example" > "$work/example.txt"
    grep -q "E_total after 1 update   = 0.291027774" "$work/example.txt" \
        || fail "python -m backprop example printed something unexpected: $(cat "$work/example.txt")"
    echo "$(wc -l < "$work/example.txt") lines, E_total after 1 update = 0.291027774..., as on x86-64"

    step "tests: ${tests[*]}"
    args=()
    for t in "${tests[@]}"; do
        args+=("$tree/tests/$t")
    done
    status=0
    chroot "$root" env -i HOME=/root PATH=/opt/venv/bin:/usr/bin:/bin LANG=C.UTF-8 BACKPROP_REQUIRE_COMPILER=1 \
        sh -c 'cd /tmp/backprop/run && exec python -m pytest -p no:cacheprovider -q "$@"' pytest \
        "${args[@]}" -k "not test_kernels.py or $kernel_tests" -m "not repo" || status=$?
    finish_step

    printf '\n== timings (arm64 under qemu-user-static on %s, %s cores)\n' "$(uname -m)" "$(nproc)"
    printf '%s\n' "${timings[@]}"
    [ "$status" = 0 ] || fail "the tests failed (pytest exit status $status)"
}

main "$@"
