"""Reading and writing .safetensors files without the safetensors package.

Layout: an 8-byte little-endian header length N, N bytes of JSON, then the
raw little-endian tensor data. The JSON maps each tensor name to
{"dtype", "shape", "data_offsets": [begin, end]} (offsets from the start
of the data) and may hold "__metadata__", a map of strings. This writer pads
the header with spaces to a multiple of 8 bytes and lays the tensors out
contiguously in the order given, which is what libsanl's loader requires:
regions that tile the data section exactly. The reader takes what libsanl's
reader takes: dtypes F32, F16 and BF16 (I64 for *.num_batches_tracked
only), at most 4 dimensions of at most 2^40 each, and data_offsets that
span exactly the bytes the dtype and shape need; a file breaking these
rules is refused with libsanl's message.
"""

import json
import os
import struct
import sys

import torch

DTYPES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
TORCH_DTYPES = {name: dtype for dtype, name in DTYPES.items()}

# What libsanl's reader takes (sanl-safetensors.c).
READ_DTYPES = ("F32", "F16", "BF16", "I64")
MAX_DIMS = 4
MAX_DIM = 1 << 40
INT64_MAX = (1 << 63) - 1

HEX_DIGITS = "0123456789abcdefABCDEF"
METADATA_KEY = "__metadata__"


def _check_byte_order():
    if sys.byteorder != "little":
        raise RuntimeError("safetensors_io only runs on little-endian machines")


def _tensor_bytes(tensor):
    """Raw bytes of a tensor in row-major order."""
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    if flat.numel() == 0:
        return b""
    return flat.view(torch.uint8).numpy().tobytes()


def save_file(tensors, path, metadata=None):
    """Write a dict of name -> tensor to path; metadata maps str -> str."""
    _check_byte_order()
    header = {}
    if metadata:
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"metadata {key!r}: keys and values must be strings")
        header[METADATA_KEY] = dict(metadata)

    blobs = []
    offset = 0
    for name, tensor in tensors.items():
        if name == METADATA_KEY:
            raise ValueError(f"{METADATA_KEY} is not a tensor name")
        if tensor.dtype not in DTYPES:
            raise TypeError(f"{name}: dtype {tensor.dtype} has no safetensors name")
        blob = _tensor_bytes(tensor)
        header[name] = {
            "dtype": DTYPES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)

    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def check_escapes(text):
    """None when every backslash escape in JSON text is one JSON has and
    none is a NUL (\\u0000); else what is wrong, for a message. libsanl's
    JSON library ends strings at NUL and takes escapes JSON lacks, so both
    loaders refuse these before parsing."""
    i = 0
    while True:
        i = text.find("\\", i)
        if i < 0:
            return None
        c = text[i + 1:i + 2]
        if c and c in '"\\/bfnrt':
            i += 2
            continue
        digits = text[i + 2:i + 6]
        if c != "u" or len(digits) != 4 or not all(d in HEX_DIGITS for d in digits):
            return "an invalid escape"
        if digits == "0000":
            return "a NUL character (\\u0000)"
        i += 6


def _read_header(f, path):
    raw = f.read(8)
    if len(raw) != 8:
        raise ValueError(f"{path}: too short for a safetensors header")
    (size,) = struct.unpack("<Q", raw)
    # Check before reading: a huge length would otherwise be allocated.
    if size > os.fstat(f.fileno()).st_size - 8:
        raise ValueError(f"{path}: header length {size} runs past the end of the file")
    text = f.read(size)
    if len(text) != size:
        raise ValueError(f"{path}: header length {size} runs past the end of the file")
    try:
        text = text.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: header is not valid JSON ({e})") from None
    bad_escape = check_escapes(text)
    if bad_escape:
        raise ValueError(f"{path}: header holds {bad_escape} in a string")
    try:
        header = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not a JSON object")
    return header


def _check_path(path):
    if not path:
        raise ValueError("no model file given: the path is empty")


def read_metadata(path):
    """The __metadata__ map of the file at path (empty when absent)."""
    _check_path(path)
    with open(path, "rb") as f:
        return dict(_read_header(f, path).get(METADATA_KEY, {}))


def _is_count(value, limit):
    # JSON true and false are not numbers, though Python's bool is an int
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit


def _element_count(shape):
    """Elements of shape, saturated as libsanl counts them: the product of
    up to 4 dimensions below 2^40 would overflow 64 bits."""
    n = 1
    for dim in shape:
        if dim != 0 and n > INT64_MAX // 16 // dim:
            n = INT64_MAX // 16
        else:
            n *= dim
    return n


def _check_entry(path, name, entry, data_size):
    """(dtype name, shape, begin, end) of one tensor's header entry, checked
    in libsanl's order and refused with its message."""
    def fail(reason):
        raise ValueError(f"{path}: tensor '{name}': {reason}")

    if not isinstance(entry, dict):
        fail("entry is not a JSON object")
    dtype = entry.get("dtype")
    if not isinstance(dtype, str):
        fail("'dtype' is missing or not a string")
    if dtype not in READ_DTYPES:
        fail(f"dtype '{dtype}' is not supported (F32, F16 or BF16)")
    if dtype == "I64" and not name.endswith(".num_batches_tracked"):
        fail("dtype I64 is only accepted for *.num_batches_tracked")

    shape = entry.get("shape")
    if (not isinstance(shape, list) or len(shape) > MAX_DIMS
            or not all(_is_count(d, MAX_DIM) for d in shape)):
        fail(f"'shape' is missing or not a list of at most {MAX_DIMS} non-negative integers")

    offsets = entry.get("data_offsets")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(_is_count(o, INT64_MAX) for o in offsets)):
        fail("'data_offsets' is missing or not two non-negative integers")
    begin, end = offsets
    if begin > end:
        fail(f"data_offsets [{begin}, {end}] end before they begin")
    if end > data_size:
        fail(f"data_offsets end at {end}, past the end of the {data_size}-byte data section")
    itemsize = torch.tensor([], dtype=TORCH_DTYPES[dtype]).element_size()
    needed = _element_count(shape) * itemsize
    if end - begin != needed:
        fail(f"data_offsets span {end - begin} bytes but {dtype} of this shape needs {needed}")
    return dtype, shape, begin, end


def load(path):
    """Read the file at path: returns (dict of name -> tensor, metadata)."""
    _check_byte_order()
    _check_path(path)
    with open(path, "rb") as f:
        header = _read_header(f, path)
        data = bytearray(f.read())

    metadata = dict(header.pop(METADATA_KEY, {}))
    tensors = {}
    for name, entry in header.items():
        dtype, shape, begin, end = _check_entry(path, name, entry, len(data))
        dtype = TORCH_DTYPES[dtype]
        if end == begin:
            tensors[name] = torch.zeros(shape, dtype=dtype)
            continue
        itemsize = torch.tensor([], dtype=dtype).element_size()
        count = (end - begin) // itemsize
        flat = torch.frombuffer(data, dtype=dtype, count=count, offset=begin)
        tensors[name] = flat.reshape(shape).clone()
    return tensors, metadata


def load_file(path):
    """Read the file at path: returns a dict of name -> tensor."""
    return load(path)[0]
