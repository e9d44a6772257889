"""Reading a model file's ``.npz`` archive with every size bounded in
advance: members must be stored or deflated, and no member is decompressed
beyond the bytes its description allows (``backprop.io``'s docstring)."""
import struct
import tokenize
import zipfile
import zlib

try:
    import lzma
except ImportError:             # a Python built without it reads no LZMA member anyway
    lzma = None

import numpy as np


class ModelFileError(ValueError):
    """A file that is not a valid backprop model file: not an ``.npz`` archive,
    truncated or corrupted, written by a newer backprop, or inconsistent."""


# What reading a damaged or hostile archive and its members raises (besides
# MemoryError): zipfile's RuntimeError for a member flagged as encrypted and
# NotImplementedError for an unknown compression method or zip version,
# struct.error from a garbled extra field, the decompressors' own errors, and
# the tokenize.TokenError numpy lets out of a garbled .npy header.
ARCHIVE_ERRORS = (ValueError, EOFError, OSError, RuntimeError, NotImplementedError, zipfile.BadZipFile,
                  zlib.error, tokenize.TokenError, struct.error) + (
                      (lzma.LZMAError,) if lzma is not None else ())
# ... and what a hostile .npy header can make numpy's parser raise too (a
# literal nested beyond the recursion limit, or one too large to hold)
_MEMBER_ERRORS = ARCHIVE_ERRORS + (MemoryError, RecursionError)
# The most bytes an .npy header (magic, length, dict) may take in a member:
# numpy writes 128 for a 1-D array.
MAX_NPY_HEADER = 4096
_MEMBER_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}


def read_npz(path, header_limit, check_header):
    """(header, arrays) of the model file ``path``.  Its 'header' member (at
    most ``header_limit`` bytes, 1-D uint8) goes to ``check_header(raw,
    names)``, with the names of the archive's other members; that returns
    the header and the {"shape", "dtype"} of each array to read, which
    bounds what each member may hold."""
    with open(path, "rb") as f:
        magic = f.read(4)
        if magic != b"PK\x03\x04":
            what = "a single .npy array" if magic == b"\x93NUM" else "not an .npz archive"
            raise ModelFileError(f"{path}: not a backprop model file ({what})")
        f.seek(0)
        try:
            archive = zipfile.ZipFile(f)
            members = archive.infolist()
        except ARCHIVE_ERRORS as exc:
            raise ModelFileError(f"{path}: corrupted or truncated .npz archive ({exc})") from None
        with archive:
            by_name = {}
            for info in members:
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if key in by_name:
                    raise ModelFileError(f"{path}: corrupted: the archive holds {info.filename!r} twice")
                by_name[key] = info
            if "header" not in by_name:
                raise ModelFileError(f"{path}: not a backprop model file (an .npz archive without a "
                                     f"'header' entry; it holds {sorted(by_name)})")
            raw = read_member(archive, by_name["header"], "header", path, header_limit, None)
            header, specs = check_header(raw, sorted(set(by_name) - {"header"}))
            arrays = {}
            for name, spec in specs.items():
                n_bytes = np.dtype(spec["dtype"]).itemsize * int(np.prod(spec["shape"], dtype=object))
                arrays[name] = read_member(archive, by_name[name], name, path,
                                           MAX_NPY_HEADER + n_bytes, spec)
    return header, arrays


def read_member(archive, info, name, path, limit, spec):
    """The array in member `info`, read only if its zip entry declares at
    most `limit` bytes and its .npy header agrees with `spec` (the model
    header's {"shape", "dtype"}; None for the header member, which must be
    1-D uint8)."""
    def unreadable(why):
        return ModelFileError(f"{path}: corrupted or truncated: cannot read array {name!r} ({why})")

    if info.compress_type not in _MEMBER_METHODS:
        method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
        raise ModelFileError(
            f"{path}: corrupted or truncated: member {info.filename!r} is compressed with {method}; "
            "that compression method is not supported in a backprop model file (only stored or "
            "deflated members are)")
    if info.file_size > limit:
        what = "the header member may hold" if spec is None else "its header's sizes allow"
        raise ModelFileError(f"{path}: corrupted: member {info.filename!r} declares {info.file_size} "
                             f"bytes, but {what} at most {limit}")
    try:
        with archive.open(info) as f:
            start = f.read(8)
            if len(start) < 8 or start[:6] != b"\x93NUMPY":
                raise unreadable("not in .npy format")
            version = tuple(start[6:8])
            if version not in ((1, 0), (2, 0)):
                raise unreadable(f".npy format version {version[0]}.{version[1]}, not 1.0 or 2.0")
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(f, max_header_size=MAX_NPY_HEADER)
            if dtype.hasobject:
                raise unreadable("it holds Python objects, which load never unpickles")
            if spec is None:
                if dtype != np.uint8 or len(shape) != 1:
                    raise ModelFileError(f"{path}: not a backprop model file (its 'header' is {dtype} "
                                         f"of shape {shape}, not UTF-8 JSON bytes)")
            elif dtype.str != spec["dtype"] or list(shape) != spec["shape"]:
                raise ModelFileError(f"{path}: cannot read array {name!r}: the array {name!r} is "
                                     f"{dtype.str} of shape {list(shape)}, but the header says "
                                     f"{spec['dtype']} of shape {spec['shape']}")
            count = int(np.prod(shape, dtype=object))
            n_bytes = count * dtype.itemsize
            if f.tell() + n_bytes != info.file_size:
                raise unreadable(f"its .npy header describes {n_bytes} bytes of data, but the member "
                                 f"holds {info.file_size - f.tell()}")
            arr = np.empty(count, dtype=dtype)
            data = arr.view(np.uint8)
            filled = 0
            while filled < n_bytes:
                chunk = f.read(min(1 << 24, n_bytes - filled))
                if not chunk:
                    raise unreadable("the member ends early")
                data[filled:filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
                filled += len(chunk)
            if f.read(1):
                raise unreadable("data beyond the declared size")
    except ModelFileError:
        raise
    except _MEMBER_ERRORS as exc:
        if isinstance(exc, MemoryError):
            raise ModelFileError(f"{path}: cannot read array {name!r}: it asks for more memory than "
                                 f"this machine has ({exc})") from None
        raise unreadable(exc) from None
    return arr.reshape(shape)
