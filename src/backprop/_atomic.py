"""Writing a file atomically: a temporary file beside the destination,
flushed to disk, renamed over it, the directory flushed; so a crash or power
loss leaves the old file or the new one, never a mixture (``backprop.io``'s
docstring says what a user sees)."""
import contextlib
import errno
import os
import secrets
import stat

# The most characters of the destination's name in a temporary file's name,
# which then stays far below NAME_MAX (255 bytes) whatever the name.
TEMP_PREFIX = 24


def as_path(path):
    """path (str, bytes or path-like) as a str, checked."""
    try:
        name = os.fsdecode(path)
    except TypeError as exc:
        raise TypeError(f"path must name a file: {exc}") from None
    if "\0" in name:
        raise ValueError(f"path must not contain a NUL character, got {name!r}")
    return name


def destination(path):
    """(path as str, the file to replace, its os.stat or None), checked:
    symlinks resolved, directories and other non-regular files refused."""
    name = as_path(path)
    if name == "":
        raise ValueError("path is empty: pass the name of the file to write")
    if name.endswith(os.sep) or (os.altsep and name.endswith(os.altsep)):
        raise IsADirectoryError(errno.EISDIR, f"cannot save to {name}: the path ends with a "
                                "separator, so it names a directory, not a file", name)
    target = os.path.realpath(name)
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"cannot save to {name}: it is a directory", name)
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        mode = existing.st_mode
        kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
        raise FileExistsError(errno.EEXIST, f"cannot save to {name}: it is {kind}, and save replaces "
                              "only regular files", name)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {name}: the directory {folder} does not exist")
    return name, target, existing


def write_atomically(name, target, existing, write):
    """write(f) into a temporary file beside target, fsync it, rename it over
    target (keeping an existing file's permission bits) and fsync the
    directory.  OSErrors name the user's path, not the temporary file."""
    folder, base = os.path.split(target)
    try:
        for _ in range(100):
            tmp = os.path.join(folder, f".{base[:TEMP_PREFIX]}.bp-{secrets.token_hex(3)}.tmp")
            try:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
                fd = os.open(tmp, flags, 0o666)
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(errno.EEXIST, "no free temporary name beside it", name)
    except OSError as exc:
        raise _naming(exc, name) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if existing is not None:
            os.chmod(tmp, stat.S_IMODE(existing.st_mode))
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _naming(exc, name) from None
        raise
    _fsync_directory(folder)


def write_file(path, data):
    """Write the bytes ``data`` to ``path`` atomically, as save writes a model:
    a failed write leaves the file that was there."""
    name, target, existing = destination(path)
    write_atomically(name, target, existing, lambda f: f.write(data))


def _naming(exc, name):
    """The OSError exc (its subclass, by errno) about the user's path `name`."""
    if exc.errno is None:
        return OSError(f"cannot save to {name}: {exc}")
    return OSError(exc.errno, f"cannot save to {name}: {exc.strerror}", name)


def _fsync_directory(folder):
    """Flush the directory entry of a rename (POSIX).  The model is written
    already: a file system that cannot open or flush a directory costs only
    that durability, so errors are not raised."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
