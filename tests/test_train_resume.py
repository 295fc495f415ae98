"""train.py checkpoints, resumes where it stopped and exports a loadable model.

Trains the tiny config for two one-step epochs on a rendered set, in two
runs (the second with --resume), then exports the best checkpoint. Then
fine-tunes that file with --init at learning rate 0: every parameter must
come out as it went in, and --whole-val must score the whole pictures.
Usage: test_train_resume.py SANL_SYNTH
"""

import os
import subprocess
import sys
import tempfile

try:
    import torch
except ImportError:
    print("torch is not available", file=sys.stderr)
    sys.exit(77)

root = os.environ.get("SANL_SOURCE_ROOT",
                      os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(root, "sanl", "torch"))

import eval as E  # noqa: E402


def main():
    synth = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        data, out = os.path.join(tmp, "synth"), os.path.join(tmp, "run")
        model = os.path.join(tmp, "model.safetensors")
        subprocess.run([synth, "--out", data, "--count", "6", "--seed", "2", "--size",
                        "128x128", "--val-every", "3"], check=True)
        train = [sys.executable, os.path.join(root, "sanl/torch/train.py"), "--stage",
                 "landmarks", "--config", "tiny", "--fld", data, "--out", out, "--steps", "1",
                 "--batch", "2"]
        subprocess.run(train + ["--epochs", "1"], check=True)
        first = torch.load(os.path.join(out, "landmarks-last.pt"))
        assert first["epoch"] == 0, first["epoch"]
        log = subprocess.run(train + ["--epochs", "2", "--resume", "--export", model],
                             check=True, capture_output=True, text=True).stdout
        assert "resumed" in log and "at epoch 1" in log, log
        second = torch.load(os.path.join(out, "landmarks-last.pt"))
        assert second["epoch"] == 1, second["epoch"]
        best = torch.load(os.path.join(out, "landmarks-best.pt"))
        net = E.load_net(model)
        for name, tensor in net.state_dict().items():
            if tensor.is_floating_point():
                # exported as F16: equal to the best checkpoint to F16 rounding
                ref = best["model"][name].float()
                err = float((tensor - ref.half().float()).abs().max())
                assert err == 0.0, f"{name}: {err}"

        again = os.path.join(tmp, "again.safetensors")
        tune = [a if a != out else os.path.join(tmp, "tune") for a in train]
        log = subprocess.run(tune + ["--epochs", "1", "--init", model, "--lr", "0",
                                     "--synth", data, "--whole-val", "--export", again],
                             check=True, capture_output=True, text=True).stdout
        assert f"every tensor from {model}" in log, log
        assert "val synth whole: NE" in log, log
        tuned = dict(E.load_net(again).named_parameters())
        for name, param in net.named_parameters():
            assert torch.equal(param, tuned[name]), name


if __name__ == "__main__":
    main()
