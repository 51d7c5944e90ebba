"""``ecc train`` under torchrun: two CPU processes (gloo) for a few steps end with identical weights,
rank 0 alone writes the checkpoint, and a resume continues from it."""
import json
import subprocess
import sys

import torch


def _run(tmp_path, sample_paths, steps: int) -> subprocess.CompletedProcess:
    config = {"data": str(sample_paths[0].parent), "out": str(tmp_path / "run"), "batch": 2, "crop_seconds": 0.5,
              "checkpoint_every": 2,
              "model": {"transform": {"hidden": 32, "latent": 16, "blocks": 1},
                        "latent": {"latent": 16, "hyper": 4, "hidden": 32}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "--module", "ecc", "train", "--config", str(tmp_path / "config.json"), "--steps", str(steps)],
                          capture_output=True, text=True, timeout=300)


def test_two_ranks_train_to_identical_weights_and_resume(tmp_path, sample_paths):
    first = _run(tmp_path, sample_paths, 3)
    assert first.returncode == 0, first.stderr[-3000:]
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    digests = log[-1]["rank_weights"]
    assert len(digests) == 2 and digests[0] == digests[1]
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["step"] == 3
    second = _run(tmp_path, sample_paths, 5)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed" in second.stdout and torch.load(tmp_path / "run" / "last.pt", weights_only=True)["step"] == 5
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert len(set(log[-1]["rank_weights"])) == 1
