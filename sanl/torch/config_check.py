"""The rules a model file's sanl.config must follow, as libsanl's loader applies them.

    check_config(config, "model.safetensors")  # raises ConfigError

Every field is checked for type and range in the loader's order, and the
first bad one fails with the loader's message: "FILE: sanl.config: field
'NAME' must be ...". The bounds are far beyond any real network; they exist
so that a corrupt or hostile file cannot make the twin allocate terabytes
or build a network the C engine would refuse. Fields not listed are ignored.
"""

import json
import math

from safetensors_io import check_escapes

MAX_INPUT_SIZE = 4096
MAX_LANDMARKS = 32
MAX_CLASSES = 4096
MAX_DEPTH = 256
MAX_WIDTH = 1024
MAX_CHANNELS = 4096
MAX_SIGMA = 1000.0
FLT_MAX = 3.4028234663852886e38


class ConfigError(ValueError):
    """A sanl.config that libsanl would refuse; the message names file and field."""


def _is_int(value):
    # JSON true and false are not numbers, though Python's bool is an int
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


class _Checker:
    def __init__(self, path):
        self.path = path

    def fail(self, field, reason):
        raise ConfigError(f"{self.path}: sanl.config: field '{field}' {reason}")

    def integer(self, obj, member, lo, hi, field=None):
        value = obj.get(member)
        if not _is_int(value) or not lo <= value <= hi:
            self.fail(field or member, f"must be an integer from {lo} to {hi}")
        return value

    def sigma(self, obj, member):
        value = obj.get(member)
        if not _is_number(value) or not 0.0 < value <= MAX_SIGMA:
            self.fail(member, "must be a number above 0 and at most 1000")

    def name(self, obj):
        value = obj.get("name")
        if not isinstance(value, str) or not value:
            self.fail("name", "must be a non-empty string")

    def input_size(self, obj):
        size = self.integer(obj, "input_size", 64, MAX_INPUT_SIZE)
        if size % 32 != 0:
            self.fail("input_size", "must be a multiple of 32")

    def rgb(self, obj, member, positive):
        value = obj.get(member)
        reason = "must be 3 finite numbers above 0" if positive else "must be 3 finite numbers"
        if not isinstance(value, list) or len(value) != 3:
            self.fail(member, reason)
        for v in value:
            if not _is_number(v) or abs(v) > FLT_MAX or (positive and v <= 0.0):
                self.fail(member, reason)

    def names(self, obj, member, most):
        value = obj.get(member)
        if (not isinstance(value, list) or not 1 <= len(value) <= most
                or not all(isinstance(v, str) and v for v in value)
                or len(set(value)) != len(value)):
            self.fail(member, f"must be a list of 1 to {most} distinct non-empty strings")

    def attention_classes(self, obj):
        """Optional; absent, every class may steer."""
        if "attention_classes" not in obj:
            return
        value, classes = obj["attention_classes"], obj["classes"]
        reason = "must be a list of names from 'classes', each at most once"
        if not isinstance(value, list) or not value:
            self.fail("attention_classes", reason)
        for i, v in enumerate(value):
            if not isinstance(v, str) or v not in classes or v in value[:i]:
                self.fail("attention_classes", f"{reason} (entry {i} is not)")

    def resnet(self, obj, member):
        spec = obj.get(member)
        if not isinstance(spec, dict):
            self.fail(member, "must be an object with block, depths and width")
        if spec.get("block") not in ("basic", "bottleneck"):
            self.fail(f"{member}.block", 'must be "basic" or "bottleneck"')
        depths = spec.get("depths")
        if (not isinstance(depths, list) or len(depths) != 4
                or not all(_is_int(d) and 1 <= d <= MAX_DEPTH for d in depths)):
            self.fail(f"{member}.depths", f"must be 4 integers from 1 to {MAX_DEPTH}")
        self.integer(spec, "width", 1, MAX_WIDTH, f"{member}.width")


def check_config(config, path):
    """Raise ConfigError naming path and the first field libsanl would refuse."""
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: sanl.config is not a JSON object")
    c = _Checker(path)
    c.name(config)
    c.input_size(config)
    c.rgb(config, "mean", False)
    c.rgb(config, "std", True)
    c.names(config, "landmarks", MAX_LANDMARKS)
    c.names(config, "classes", MAX_CLASSES)
    c.attention_classes(config)
    c.resnet(config, "classifier")
    c.resnet(config, "backbone")
    c.integer(config, "fpn_channels", 1, MAX_CHANNELS)
    c.integer(config, "head_channels", 1, MAX_CHANNELS)
    c.sigma(config, "sigma_coarse")
    c.sigma(config, "sigma_fine")


def parse_config(text, path):
    """The checked config dict of a sanl.config JSON string."""
    bad_escape = check_escapes(text)
    if bad_escape:
        raise ConfigError(f"{path}: sanl.config holds {bad_escape} in a string")
    try:
        config = json.loads(text)
    except ValueError as e:
        raise ConfigError(f"{path}: sanl.config is not valid JSON: {e}") from None
    check_config(config, path)
    return config
