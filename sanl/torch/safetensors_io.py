"""Reading and writing .safetensors files without the safetensors package.

Layout: an 8-byte little-endian header length N, N bytes of JSON, then the
raw little-endian tensor data. The JSON maps each tensor name to
{"dtype", "shape", "data_offsets": [begin, end]} (offsets from the start
of the data) and may hold "__metadata__", a map of strings. This writer pads
the header with spaces to a multiple of 8 bytes and lays the tensors out
contiguously in the order given, which is what libsanl's loader requires:
regions that tile the data section exactly.
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
        dtype = TORCH_DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name!r}: unknown dtype {entry['dtype']!r}")
        begin, end = entry["data_offsets"]
        if not 0 <= begin <= end <= len(data):
            raise ValueError(f"{path}: tensor {name!r}: data_offsets out of range")
        shape = list(entry["shape"])
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
