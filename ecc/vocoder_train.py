"""Training of the shared vocoder: a mel-loss warm-up, then adversarial training against a
multi-period and a multi-resolution discriminator (least squares + feature matching + mel loss, as in
HiFi-GAN and Vocos).

A run lost with its folder can restart from an exported generator (``init_from``, e.g. a committed
milestone): it continues at that file's step, with fresh discriminators and optimizers.

Resumable and device-agnostic: ``OUT/last.pt`` (tensors and plain values only, read with
``weights_only=True``) holds generator, discriminators, optimizers, step and RNG state; running the
same command continues from it, on a CUDA GPU when one is present (``device="auto"``), else on CPU.
The run stops at ``steps``, so a driver can alternate training and evaluation
(``scripts/train_vocoder.sh``).
"""
from __future__ import annotations

import json
import random
import time
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .data import CropSampler
from .discriminator import AdversarialConfig, Adversary, MultiPeriodDiscriminator, MultiResolutionDiscriminator
from .mel import LogMel
from .train import cosine, write_checkpoint
from .vocoder import Vocoder, VocoderConfig


@dataclass(frozen=True)
class VocoderTrainConfig:
    """One vocoder run. Losses: ``mel_weight`` x L1 log-mel + ``magnitude_weight`` x L1 of the head's
    log-magnitude to the input's (so the head is a magnitude estimate that phase reconstruction can
    use: :mod:`ecc.phase`) + ``phase_weight`` x the anti-wrapping
    phase losses of the head's phase (:func:`phase_loss`) + (after ``warmup_steps``) the adversarial
    losses of both discriminators + ``feature_weight`` x feature matching."""

    data: str = "data/speech/train"
    out: str = "runs/vocoder"
    steps: int = 100_000
    batch: int = 8
    crop_seconds: float = 0.5
    lr: float = 2e-4
    lr_end: float = 2e-5  # both optimizers: lr until decay_start, then a cosine down to lr_end at decay_end
    decay_start: int = 30_000  # the shared run took the schedule up at 31,000
    decay_end: int = 100_000
    warmup_steps: int = 5000
    mel_weight: float = 45.0
    feature_weight: float = 2.0
    magnitude_weight: float = 45.0
    phase_weight: float = 10.0  # anti-wrapping phase losses (APNet); a resumed run takes this and the lr schedule from the command
    periods: tuple[int, ...] = (2, 3, 5, 7, 11)
    period_channels: tuple[int, ...] = (16, 32, 128, 256)  # HiFi-GAN: 32..1024; 16..512 costs 3.5x per step here
    resolution: AdversarialConfig = field(default_factory=lambda: AdversarialConfig(hidden=64))
    model: VocoderConfig = field(default_factory=VocoderConfig)
    seed: int = 0
    checkpoint_every: int = 500
    device: str = "auto"  # "auto": cuda when available, else cpu
    init_from: str = ""  # a fresh run only: start the generator from this vocoder file, at the step it records

    @classmethod
    def from_dict(cls, d: dict) -> "VocoderTrainConfig":
        d = dict(d)
        for key in ("periods", "period_channels"):
            if key in d:
                d[key] = tuple(d[key])
        if "resolution" in d:
            d["resolution"] = AdversarialConfig.from_dict(d["resolution"])
        if "model" in d:
            d["model"] = VocoderConfig.from_dict(d["model"])
        return cls(**d)


RESUME_OVERRIDES = ("steps", "data", "out", "device", "phase_weight", "lr_end", "decay_start", "decay_end")
"""What a resumed run takes from the command rather than from its checkpoint."""


def learning_rate(config: VocoderTrainConfig, step: int) -> float:
    """Both optimizers' learning rate at ``step``: ``lr`` until ``decay_start``, then a cosine down to
    ``lr_end`` at ``decay_end`` (and ``lr_end`` after). A function of the step alone, so resuming
    continues the curve."""
    span = max(config.decay_end - config.decay_start, 1)
    return cosine(config.lr, config.lr_end, (step - config.decay_start) / span)


def anti_wrap(x: torch.Tensor) -> torch.Tensor:
    """``|x - 2 pi round(x / 2 pi)|``: the distance of an angle difference to the nearest multiple of 2 pi."""
    return torch.abs(x - 2 * torch.pi * torch.round(x / (2 * torch.pi)))


def phase_loss(phase: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Anti-wrapping phase losses of ``phase`` against ``target`` ``[B, F, T]`` (radians): instantaneous
    phase + group delay (difference along frequency) + instantaneous frequency (along time), each a
    mean of :func:`anti_wrap` (Ai & Ling, APNet, 2023)."""
    error = phase - target
    return (anti_wrap(error).mean() + anti_wrap(error.diff(dim=1)).mean() + anti_wrap(error.diff(dim=2)).mean())


class VocoderGAN:
    """Generator, both discriminators and their optimizers; one training step at a time."""

    def __init__(self, config: VocoderTrainConfig, device: torch.device) -> None:
        self.config = config
        self.generator = Vocoder(config.model).to(device)
        self.mpd = MultiPeriodDiscriminator(config.periods, config.period_channels).to(device)
        self.mrd = MultiResolutionDiscriminator(config.resolution, config.model.mel.sample_rate).to(device)
        self.mel = LogMel(config.model.mel).to(device)
        betas = (0.8, 0.99)
        self.g_optimizer = torch.optim.AdamW(self.generator.parameters(), lr=config.lr, betas=betas)
        self.d_optimizer = torch.optim.AdamW([*self.mpd.parameters(), *self.mrd.parameters()], lr=config.lr, betas=betas)
        self.adversary = Adversary([self.mpd, self.mrd], self.d_optimizer)

    def step(self, wav: torch.Tensor, adversarial: bool) -> dict[str, float]:
        """One update on real crops ``[B, N]``; returns the losses (floats) for the log."""
        c = self.config
        mel = self.mel(wav)
        log_mag, phase = self.generator.spectrum(mel)
        fake = self.generator.waveform(log_mag, phase, wav.shape[-1])
        losses: dict[str, torch.Tensor] = {}
        if adversarial:
            self.adversary.step(wav, fake, losses)
        losses["mel"] = F.l1_loss(self.mel(fake), mel)
        loss = c.mel_weight * losses["mel"]
        spec = self.generator.stft(wav)
        if c.magnitude_weight:
            losses["magnitude"] = F.l1_loss(log_mag, torch.log(spec.abs() + c.model.mel.floor))  # the log-mel's floor
            loss = loss + c.magnitude_weight * losses["magnitude"]
        if c.phase_weight:
            losses["phase"] = phase_loss(phase, spec.angle())
            loss = loss + c.phase_weight * losses["phase"]
        if adversarial:
            loss = loss + losses["adv"] + c.feature_weight * losses["fm"]
        self.g_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.generator.parameters(), 100.0)
        self.g_optimizer.step()
        return {"loss": loss.item(), **{k: v.item() for k, v in losses.items()}}

    def state_dict(self) -> dict:
        return {"generator": self.generator.state_dict(), "mpd": self.mpd.state_dict(), "mrd": self.mrd.state_dict(),
                "g_optimizer": self.g_optimizer.state_dict(), "d_optimizer": self.d_optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        for name in ("generator", "mpd", "mrd", "g_optimizer", "d_optimizer"):
            getattr(self, name).load_state_dict(state[name])


def pick_device(name: str) -> torch.device:
    """``auto``: the first CUDA device when available, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def train_vocoder(config: VocoderTrainConfig) -> Path:
    """Run (or resume) vocoder training up to ``config.steps``; returns the checkpoint path."""
    torch.set_flush_denormal(True)
    device = pick_device(config.device)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last.pt"
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    resumed = torch.load(last, map_location="cpu", weights_only=True) if last.exists() else None
    if resumed is not None:  # the run's own architecture and losses; the fields in RESUME_OVERRIDES may change
        saved = VocoderTrainConfig.from_dict({"magnitude_weight": 0.0, **json.loads(resumed["config"])})  # older runs had none
        config = replace(saved, **{name: getattr(config, name) for name in RESUME_OVERRIDES})
    gan = VocoderGAN(config, device)
    sampler = CropSampler(config.data, config.model.mel.sample_rate,
                          int(config.crop_seconds * config.model.mel.sample_rate), config.seed)
    step = 0
    if resumed is not None:
        gan.load_state_dict(resumed["state"])
        step = int(resumed["step"])
        torch.set_rng_state(resumed["torch_rng"])
        sampler.rng = np.random.default_rng(int(resumed["sampler_seed"]))
        print(f"resumed {last} at step {step} on {device}" + (" (init_from ignored: the run exists)" if config.init_from else ""))
    elif config.init_from:
        step = start_generator(gan.generator, config.init_from)
        print(f"started the generator from {config.init_from} at step {step} on {device} (fresh discriminators)")
    (out / "train_config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    log = (out / "log.jsonl").open("a")
    bar = tqdm(total=config.steps, initial=step, desc=out.name, unit="step", dynamic_ncols=True)
    start = time.time()
    while step < config.steps:
        wav = sampler.batch(config.batch).to(device)
        lr = learning_rate(config, step)
        for group in (*gan.g_optimizer.param_groups, *gan.d_optimizer.param_groups):
            group["lr"] = lr
        losses = gan.step(wav, adversarial=step >= config.warmup_steps)
        step += 1
        bar.update(1)
        bar.set_postfix(mel=f"{losses['mel']:.3f}", **({"adv": f"{losses['adv']:.2f}"} if "adv" in losses else {}))
        if step % 50 == 0:
            log.write(json.dumps({"step": step, **losses, "lr": lr, "seconds": round(time.time() - start, 1)}) + "\n")
            log.flush()
        if step % config.checkpoint_every == 0 or step == config.steps:
            save_checkpoint(gan, config, step, sampler, last)
    bar.close()
    return last


def save_checkpoint(gan: VocoderGAN, config: VocoderTrainConfig, step: int, sampler: CropSampler, path: Path) -> None:
    """Atomically write the resumable state (refusing non-finite generator weights)."""
    state = {"config": json.dumps(asdict(config)), "state": gan.state_dict(), "step": step,
             "torch_rng": torch.get_rng_state(), "sampler_seed": int(sampler.rng.integers(2**63))}
    write_checkpoint(state, path, gan.generator.parameters(), step)


def _read_checkpoint(checkpoint: str | Path) -> tuple[Vocoder, dict]:
    """The generator of a training checkpoint (eval mode, CPU) and its provenance: the record an
    exported vocoder file carries (step, training config, the command that continues it)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    train_config = json.loads(state["config"])
    generator = Vocoder(VocoderTrainConfig.from_dict(train_config).model)
    generator.load_state_dict(state["state"]["generator"])
    step = int(state["step"])
    return generator.eval(), {"step": step, "train_config": train_config,
                              "command": f"TOTAL={step} bash scripts/train_vocoder.sh  # data: ecc prepare-data data/speech --recipe speech"}


def load_generator(checkpoint: str | Path) -> tuple[Vocoder, int]:
    """The generator of a training checkpoint (eval mode, CPU) and its step."""
    generator, record = _read_checkpoint(checkpoint)
    return generator, record["step"]


def start_generator(generator: Vocoder, path: str | Path) -> int:
    """Load an exported vocoder's weights into ``generator`` (same config, else ``ValueError``); returns
    the training step the file records."""
    vocoder, step = read_vocoder(path)
    if not generator.config.same_network(vocoder.config):
        raise ValueError(f"{path}: its vocoder config differs from the run's")
    if step is None:
        raise ValueError(f"{path}: records no training step to continue from")
    generator.load_state_dict(vocoder.state_dict())
    return int(step)


def read_vocoder(path: str | Path) -> tuple[Vocoder, int | None]:
    """A vocoder (eval mode) from a file written by :meth:`Vocoder.save` or from a training
    checkpoint, and its training step (None when the file does not record one)."""
    vocoder, record = _read_vocoder_and_record(path)
    return vocoder, record.get("step")


def _read_vocoder_and_record(path: str | Path) -> tuple[Vocoder, dict]:
    """:func:`read_vocoder`'s vocoder and the whole record (a checkpoint's: :func:`_read_checkpoint`)."""
    return _read_checkpoint(path) if zipfile.is_zipfile(path) else Vocoder.read(path)


def export_vocoder(source: str | Path, out: str | Path, half: bool = False, phase: str = "generated",
                   griffin_lim_iterations: int = VocoderConfig.griffin_lim_iterations) -> Vocoder:
    """Write the generator of a training checkpoint, or the vocoder of a vocoder file (e.g.
    ``ecc/zoo/vocoder.safetensors``), as safetensors weights at ``out`` (``half``: as float16; ``phase``
    and ``griffin_lim_iterations``: :class:`VocoderConfig`'s), with its provenance (step, training
    config, the command that continues it; a vocoder file's own record) in the file's metadata."""
    generator, record = _read_vocoder_and_record(source)
    generator = generator.with_phase(phase, griffin_lim_iterations)
    generator.save(out, record, half=half)
    return generator
