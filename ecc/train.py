"""Training of the codec families built on the ECC analysis side (``ecc``, ``ecc-mel``):
loss = waveform reconstruction (multi-resolution STFT + log-mel) + the family's own reconstruction
losses (``ecc-mel``: log-mel L1 of its decoder) + lambda * kbps, optionally + adversarial and
feature-matching losses against a spectral discriminator or the shared vocoder run's discriminators
(GAN fine-tuning, a joint fine-tune through the vocoder). Parameters named in
``freeze`` stay as initialized (e.g. train an ``ecc-mel`` decoder on a trained ECC encoder and latent
codec, so the bitstream and its rates are the ECC model's).

Resumable: ``OUT/last.pt`` holds model, optimizers, step and RNG state, written every
``checkpoint_every`` steps; running the same command again continues from it.

Data-parallel under ``torchrun --nproc_per_node N -m ecc train ...`` (see :mod:`ecc.distributed`):
each rank trains on ``batch`` crops of its own (the global batch is ``N x batch``), gradients are
averaged, rank 0 alone writes checkpoints and logs, and a resume restarts every rank from them.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from entropy.ecc_latent import upgrade_state_names

from .audio import audio_files, load_audio, spread_evenly
from .codec import ConvSTFTCodec, ECCConfig
from .data import CropSampler
from .distributed import Context, average_gradients, gather_digests, setup, shutdown
from .discriminator import AdversarialConfig, Adversary
from .losses import MultiResolutionSTFTLoss, compressed_complex_loss
from .mel_codec import ECCMelConfig, band_weights
from .neural_codec import load_codec
from .registry import family


@dataclass(frozen=True)
class TrainConfig:
    """One training run. ``lmbda`` weighs kbps against the reconstruction loss."""

    family: str = "ecc"  # the codec family trained: "ecc" or "ecc-mel"
    data: str = "data/asterisk/train"
    data_weights: dict[str, float] | None = None  # corpus (subfolder of data) -> how much more often it is drawn per second (CropSampler)
    out: str = "runs/ecc"
    steps: int = 20000
    batch: int = 12
    crop_seconds: float = 1.0
    lr: float = 5e-4
    lr_end: float | None = None  # cosine decay from lr to lr_end over the run's steps; None: constant lr
    lmbda: float = 0.05
    lmbdas: tuple[float, ...] = ()  # variable rate: one lambda per trained rate; overrides lmbda
    rate_sampling: str = "cycle"  # variable rate: "cycle" (step s trains rate s % rates) or "uniform" (q ~ U[0, rates - 1] per example, lambda interpolated in log)
    rate_gains: tuple[float, ...] = ()  # variable rate, at a fresh start: initial latent gain of each rate (default 1)
    gain_lr_scale: float = 10.0  # variable rate: the gain vectors learn this many times faster than the rest
    pitch_weight: float = 0.1  # weight of the pitch-class cross-entropy (models with a harmonic source)
    overshoot_weight: float = 1.0  # spectral losses: weight of log-spectrum errors above the reference (see losses)
    complex_weight: float = 0.0  # weight of the compressed complex-spectrum loss (scores phase); 0: off
    waveform_weight: float = 1.0  # weight of the waveform losses (STFT + mel of the output); 0: no synthesis (ecc-mel: log-mel loss only)
    mel_band_weights: tuple[float, ...] = ()  # ecc-mel: weight of the log-mel L1 per equal range of bands, low to high (normalized to mean 1); (): all bands alike
    freeze: tuple[str, ...] = ()  # parameter-name prefixes kept as initialized (e.g. "encoder.", "latent.", "vocoder.")
    vocoder_from: str | None = None  # ecc-mel: the vocoder (file or training checkpoint) its vocoder starts from
    discriminators_from: str | None = None  # with adversarial: a vocoder training checkpoint whose discriminators (and their optimizer, lr included) replace a fresh spectral one; adversarial then gives only the loss weights
    seed: int = 0
    init_from: str | None = None  # fine-tune from this model file or training checkpoint (weights only)
    reinit: tuple[str, ...] = ()  # parameter-name prefixes left freshly initialized when init_from is used
    latent_gain: float = 1.0  # with init_from: latent scaled by this (finer quantization, more kbps); see scale_latent
    klt_step: float | None = None  # ecc-mel with linear_path, at a fresh start: linear paths start at the KLT of KLT_FILES training files, quantization step klt_step (standardized log-mel)
    checkpoint_every: int = 250
    adversarial: AdversarialConfig | None = None  # GAN fine-tuning; None: reconstruction + rate only
    model: ECCConfig | ECCMelConfig | None = None  # architecture; None: the resumed run's, else init_from's (same family), else the default

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """From JSON values: lists become tuples, ``model`` the family's config, ``adversarial`` an
        :class:`AdversarialConfig`; ``ValueError`` naming unknown fields."""
        d = dict(d)
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown TrainConfig field(s): {', '.join(sorted(unknown))}")
        for key in ("reinit", "lmbdas", "rate_gains", "freeze", "mel_band_weights"):
            if key in d:
                d[key] = tuple(d[key])
        if d.get("model") is not None:
            d["model"] = family(d.get("family", "ecc")).codec.config_class.from_dict(d["model"])
        if d.get("adversarial") is not None:
            d["adversarial"] = AdversarialConfig.from_dict(d["adversarial"])
        return cls(**d)

    def __post_init__(self) -> None:
        if self.rate_sampling not in ("cycle", "uniform"):
            raise ValueError(f"rate_sampling must be 'cycle' or 'uniform', got {self.rate_sampling!r}")
        if self.klt_step is not None and not self.klt_step > 0:
            raise ValueError(f"klt_step must be positive, got {self.klt_step}")
        if self.klt_step is not None and self.init_from:
            raise ValueError("klt_step starts a model's linear paths afresh: it cannot be combined with init_from")
        if self.discriminators_from and self.adversarial is None:
            raise ValueError("discriminators_from needs adversarial (its loss weights)")
        if self.mel_band_weights and self.family != "ecc-mel":
            raise ValueError(f"mel_band_weights weighs the ecc-mel family's log-mel loss; this run trains {self.family}")
        if self.model is not None and not isinstance(self.model, family(self.family).codec.config_class):
            raise ValueError(f"model is a {type(self.model).__name__}, not the {self.family} family's config")


def train(config: TrainConfig) -> Path:
    """Run (or resume) training; returns the path of the last checkpoint."""
    torch.set_flush_denormal(True)
    context = setup()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last.pt"
    random.seed(config.seed + context.rank)
    torch.manual_seed(config.seed + context.rank)
    resumed = torch.load(last, map_location="cpu", weights_only=True) if last.exists() else None
    if resumed is not None and resumed.get("family", "ecc") != config.family:
        raise ValueError(f"{last} is a {resumed.get('family', 'ecc')} run, not {config.family}")
    model = family(config.family).codec(_architecture(config, resumed), name=out.name)
    config = replace(config, model=model.config)
    if config.mel_band_weights:
        model.mel_loss_weights = band_weights(config.mel_band_weights, model.config.vocoder.mel.n_mels)
    for name, p in model.named_parameters():
        p.requires_grad_(not (config.freeze and name.startswith(config.freeze)))
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(f"freeze {list(config.freeze)} leaves nothing to train")
    aux_params = [p for n, p in trainable if n.endswith("quantiles")]
    main_named = [(n, p) for n, p in trainable if not n.endswith("quantiles")]
    main_params = [p for _, p in main_named]
    gain_params = [p for n, p in main_named if n.startswith("latent.gain.")]
    groups = [{"params": [p for n, p in main_named if not n.startswith("latent.gain.")], "lr_scale": 1.0}]
    if gain_params:
        groups.append({"params": gain_params, "lr_scale": config.gain_lr_scale})
    optimizer = torch.optim.Adam(groups, lr=config.lr)
    aux_optimizer = torch.optim.Adam(aux_params, lr=1e-3) if aux_params else None
    adversary = None
    if config.adversarial is not None:
        adversary = (Adversary.from_vocoder_run(config.discriminators_from) if config.discriminators_from
                     else Adversary.spectral(config.adversarial, model.sample_rate))
    step = 0
    sampler = CropSampler(config.data, model.sample_rate, int(config.crop_seconds * model.sample_rate),
                          config.seed + context.rank, config.data_weights)
    if resumed is not None:
        model.load_state_dict(upgrade_state_names(resumed["state"], "latent."))
        optimizer.load_state_dict(resumed["optimizer"])
        if aux_optimizer is not None and "aux_optimizer" in resumed:
            aux_optimizer.load_state_dict(resumed["aux_optimizer"])
        step = resumed["step"]
        if adversary is not None and "discriminator" in resumed:
            adversary.load_state_dict(resumed["discriminator"])
        if context.is_main:
            torch.set_rng_state(resumed["torch_rng"])
        else:
            torch.manual_seed(int(resumed["sampler_seed"]) + context.rank)
        sampler.rng = np.random.default_rng(int(resumed["sampler_seed"]) + context.rank)
        if context.is_main:
            print(f"resumed {last} at step {step}")
    elif config.init_from:
        left = load_matching(model, read_model(config.init_from).state_dict(), config.reinit)
        if context.is_main:
            later = ("vocoder.",) if config.vocoder_from else ()  # loaded next; coding tables are rebuilt by update()
            fresh = [k for k in left if not k.startswith(later) and "._table_" not in k]
            print(f"initialized from {config.init_from}; fresh: {', '.join(fresh) or 'none'}")
        if config.latent_gain != 1.0:
            scale_latent(model, config.latent_gain)
    if resumed is None and config.vocoder_from:
        attach_vocoder(model, config.vocoder_from)
        if context.is_main:
            print(f"vocoder from {config.vocoder_from}")
    if resumed is None and config.klt_step is not None:
        model.init_klt(klt_clips(config.data, model.sample_rate), config.klt_step)
    if resumed is None and config.rate_gains:
        init_rate_gains(model, config.rate_gains)
    if context.is_main:
        (out / "train_config.json").write_text(json.dumps(asdict(config), indent=2))
    criterion = MultiResolutionSTFTLoss(sample_rate=model.sample_rate, overshoot_weight=config.overshoot_weight)
    model.train()
    forward = _parallel(model, context)
    bar = tqdm(total=config.steps, initial=step, desc=out.name, unit="step", dynamic_ncols=True,
               disable=not context.is_main)
    log = (out / "log.jsonl").open("a") if context.is_main else None
    start = time.time()
    while step < config.steps:
        wav = sampler.batch(config.batch)
        q, lmbda = operating_points(config, model.rates, step, len(wav))
        result = forward(wav, "ste", q, synthesize=config.waveform_weight > 0)
        losses = dict(result.losses)
        loss = sum(losses.values(), torch.zeros(()))
        if result.wav_hat is not None:
            losses.update(criterion(result.wav_hat, wav))
            loss = loss + config.waveform_weight * (losses["stft"] + losses["mel"])
        kbps_each = result.bits / config.crop_seconds / 1000
        kbps = kbps_each.mean()
        loss = loss + (lmbda * kbps_each).mean()
        if config.complex_weight:
            losses["complex"] = compressed_complex_loss(result.wav_hat, wav)
            loss = loss + config.complex_weight * losses["complex"]
        if result.pitch_logits is not None:
            pitch_targets = model.pitch_classes.targets(result.pitch)
            losses["pitch"] = -(pitch_targets * torch.log_softmax(result.pitch_logits, dim=1)).sum(1).mean()
            loss = loss + config.pitch_weight * losses["pitch"]
        if adversary is not None:
            adversary.step(wav, result.wav_hat, losses, context)
            loss = loss + config.adversarial.weight * losses["adv"] + config.adversarial.feature_weight * losses["fm"]
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step) * group.get("lr_scale", 1.0)
        optimizer.zero_grad(set_to_none=True)
        # the forward's aux losses reach the quantiles only (they see the prior's weights detached)
        if aux_optimizer is not None:
            aux_optimizer.zero_grad(set_to_none=True)
        (loss + sum(result.aux.values()) if aux_optimizer is not None else loss).backward()
        torch.nn.utils.clip_grad_norm_(main_params, 5.0)
        optimizer.step()
        if aux_optimizer is not None:
            average_gradients(aux_params, context)
            aux_optimizer.step()
        step += 1
        bar.update(1)
        mel_name = "mel" if "mel" in losses else "mel_l1"
        bar.set_postfix(loss=f"{loss.item():.3f}", **{mel_name: f"{losses[mel_name].item():.3f}"}, kbps=f"{kbps.item():.2f}")
        if log is not None and step % 50 == 0:
            log.write(json.dumps({"step": step, "loss": loss.item(), **{k: v.item() for k, v in losses.items()},
                                  "kbps_noisy": kbps.item(), "lr": optimizer.param_groups[0]["lr"],
                                  "seconds": round(time.time() - start, 1)}) + "\n")
            log.flush()
        if context.is_main and (step % config.checkpoint_every == 0 or step == config.steps):
            _checkpoint(model, optimizer, aux_optimizer, step, sampler, last, adversary)
    bar.close()
    digests = gather_digests(model, context)
    if log is not None:
        log.write(json.dumps({"step": step, "rank_weights": digests}) + "\n")
        log.close()
    if len(set(digests)) > 1:
        raise RuntimeError(f"ranks ended with different weights: {digests}")
    shutdown(context)
    return last


def _parallel(model: ConvSTFTCodec, context: Context):
    """The model's forward, wrapped in DistributedDataParallel when there are several ranks (the
    quantiles, trained by the separate aux loss, are averaged by hand)."""
    if not context.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ignored = [name for name, _ in model.named_parameters() if name.endswith("quantiles")]
    DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, ignored)
    return DistributedDataParallel(model)


def learning_rate(config: TrainConfig, step: int) -> float:
    """The main optimizer's learning rate at ``step`` (0-based): ``lr``, or a cosine from ``lr`` down to
    ``lr_end`` at ``steps``. A function of the step alone, so a resumed run continues the same curve."""
    if config.lr_end is None:
        return config.lr
    return cosine(config.lr, config.lr_end, step / max(config.steps, 1))


def cosine(start: float, end: float, progress: float) -> float:
    """Half a cosine from ``start`` (progress <= 0) to ``end`` (progress >= 1)."""
    progress = min(max(progress, 0.0), 1.0)
    return end + 0.5 * (start - end) * (1.0 + math.cos(math.pi * progress))


def operating_points(config: TrainConfig, rates: int, step: int, batch: int) -> tuple[torch.Tensor | int | None, torch.Tensor]:
    """The operating point(s) step ``step`` trains and the rate weight of each example ``[batch]``.

    A fixed-rate model: ``None`` and ``lmbda``. A variable-rate one, ``cycle``: rate ``step % rates``
    and its lambda; ``uniform``: ``q ~ U[0, rates - 1]`` per example ``[batch]`` and the lambdas
    interpolated in log between the trained rates (``lmbda`` for all without ``lmbdas``)."""
    lmbdas = torch.tensor(config.lmbdas or (config.lmbda,) * max(rates, 1))
    if not rates:
        return None, lmbdas[:1].expand(batch)
    if config.rate_sampling == "cycle":
        return step % rates, lmbdas[step % rates].expand(batch)
    q = torch.rand(batch) * (rates - 1)
    low = q.floor().long().clamp(max=rates - 2) if rates > 1 else torch.zeros(batch, dtype=torch.long)
    frac = q - low
    high = (low + 1).clamp(max=rates - 1)
    return q, torch.exp((1 - frac) * lmbdas[low].log() + frac * lmbdas[high].log())


def _architecture(config: TrainConfig, resumed: dict | None):
    """``config.model``, else the resumed run's, else ``init_from``'s (of the same family), else the
    family's default; with ``lmbdas``, made variable-rate with one gain vector per lambda."""
    config_class = family(config.family).codec.config_class
    if config.model is not None:
        model = config.model
    elif resumed is not None:
        model = config_class.from_dict(resumed["config"])
    elif config.init_from:
        source = read_model(config.init_from)
        if source.family != config.family:
            raise ValueError(f"init_from {config.init_from} is a {source.family} model: give the {config.family} "
                             "architecture as model (its layers whose names and shapes match are copied)")
        model = source.config
    else:
        model = config_class()
    if config.lmbdas and model.latent.rates != len(config.lmbdas):
        model = replace(model, latent=replace(model.latent, rates=len(config.lmbdas)))
    return model


KLT_FILES = 300  # training files the KLT of klt_step is fit on, spread over the sorted list


def klt_clips(data: str | Path, sample_rate: int) -> list[torch.Tensor]:
    """:data:`KLT_FILES` waveforms ``[1, N]`` spread evenly over the audio files under ``data``."""
    return [torch.from_numpy(load_audio(f, sample_rate).samples)[None] for f in spread_evenly(audio_files(data), KLT_FILES)]


def attach_vocoder(model: torch.nn.Module, path: str | Path) -> int | None:
    """Load the vocoder of ``path`` (a vocoder file or a vocoder training checkpoint) into
    ``model.vocoder``, with the file's phase source, and return its training step (None if
    unrecorded); ``ValueError`` if the model has none or their networks differ."""
    from .vocoder_train import read_vocoder

    vocoder, step = read_vocoder(path)
    own = getattr(model, "vocoder", None)
    if own is None:
        raise ValueError(f"vocoder_from: a {getattr(model, 'family', type(model).__name__)} model has no vocoder")
    if not own.config.same_network(vocoder.config):
        raise ValueError(f"vocoder_from {path}: its config {vocoder.config} differs from the model's {own.config}")
    if own.config != vocoder.config:  # the file also says how it synthesizes
        model.vocoder = own = own.with_phase(vocoder.config.phase, vocoder.config.griffin_lim_iterations)
        model.config = replace(model.config, vocoder=own.config)
    own.load_state_dict(vocoder.state_dict())
    return step


@torch.no_grad()
def init_rate_gains(model: ConvSTFTCodec, gains: tuple[float, ...]) -> None:
    """Start rate ``r``'s gain vector at the scalar ``gains[r]`` (its inverse at ``1 / gains[r]``)."""
    gain = model.latent.gain
    if gain is None or gain.rates != len(gains):
        raise ValueError(f"rate_gains has {len(gains)} values; the model has {gain.rates if gain else 0} rates")
    logs = torch.tensor(gains).log().unsqueeze(1)
    gain.log_gain.copy_(logs.expand_as(gain.log_gain))
    gain.log_inverse.copy_(-logs.expand_as(gain.log_inverse))


def load_matching(model: torch.nn.Module, state: dict[str, torch.Tensor], reinit: tuple[str, ...] = ()) -> list[str]:
    """Copy the tensors of ``state`` whose name and shape match ``model``'s, except names starting
    with a ``reinit`` prefix; returns the names of the model's tensors left as initialized."""
    own = model.state_dict()
    taken = {k: v for k, v in state.items()
             if k in own and own[k].shape == v.shape and not k.startswith(tuple(reinit))}
    model.load_state_dict(taken, strict=False)
    return sorted(k for k in own if k not in taken)


@torch.no_grad()
def scale_latent(model: ConvSTFTCodec, gain: float) -> None:
    """Multiply the latent ``y`` by ``gain`` and undo it wherever ``y`` or ``y_hat`` is read.

    Quantization then runs on a ``gain`` times finer grid: the same model, more rate. The encoder's
    output conv, the decoder's and hyper-encoder's input convs, the temporal context, the slice and
    LRP inputs and the predicted means are rescaled exactly; the predicted scales approximately
    (``softplus(g r) ~ g softplus(r)`` for large ``r``). The fine-tune does the rest.
    """
    model.encoder.net[-1].weight.mul_(gain)
    model.encoder.net[-1].bias.mul_(gain)
    model.decoder.net[0].weight.div_(gain)
    if hasattr(model.encoder, "linear"):  # linear paths (ecc-mel linear_path)
        model.encoder.linear.weight.mul_(gain)
        model.encoder.linear.bias.mul_(gain)
        model.decoder.linear.weight.div_(gain)
    latent = model.latent
    latent.hyperprior.analysis[0].weight.div_(gain)
    if latent.temporal is not None:
        latent.temporal.conv.weight.div_(gain)
    width, first = latent.slices.width, latent.config.hidden + (latent.temporal.width if latent.temporal else 0)
    for params in latent.slices.params:
        net = params.net
        net[0].weight[:, first:].div_(gain)  # previously decoded slices
        net[-1].weight[:width].mul_(gain)  # means
        net[-1].bias[:width].mul_(gain)
        net[-1].weight[width:].mul_(gain)  # scales, approximately
        net[-1].bias[width:].mul_(gain)
    for lrp in latent.slices.lrp or ():
        lrp.net[0].weight[:, latent.config.hidden :].div_(gain)  # decoded slices


def write_checkpoint(state: dict, path: Path, parameters, step: int) -> None:
    """Write a resumable training ``state`` to ``path`` atomically (temporary file, then rename),
    refusing to overwrite it if any of ``parameters`` is non-finite."""
    if any(not torch.isfinite(p).all() for p in parameters):
        raise FloatingPointError(f"non-finite weights at step {step}; not overwriting {path}")
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def _checkpoint(model: ConvSTFTCodec, optimizer, aux_optimizer, step: int, sampler: CropSampler, path: Path,
                adversary: Adversary | None = None) -> None:
    state = {
        "family": model.family, "config": model.config.to_dict(), "name": model.name, "state": model.state_dict(),
        "optimizer": optimizer.state_dict(), "step": step,
        "torch_rng": torch.get_rng_state(), "sampler_seed": int(sampler.rng.integers(2**63)),
    }
    if aux_optimizer is not None:
        state["aux_optimizer"] = aux_optimizer.state_dict()
    if adversary is not None:
        state["discriminator"] = adversary.state_dict()
    write_checkpoint(state, path, model.parameters(), step)


def read_model(path: str | Path) -> ConvSTFTCodec:
    """A model file (:func:`load_codec`) or a training checkpoint (:func:`checkpoint_model`)."""
    import zipfile

    return checkpoint_model(path) if zipfile.is_zipfile(path) else load_codec(path)


def checkpoint_model(checkpoint: str | Path, name: str | None = None) -> ConvSTFTCodec:
    """The model of a training checkpoint (``OUT/last.pt``), coding tables built, eval mode."""
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    cls = family(ckpt.get("family", "ecc")).codec
    model = cls(cls.config_class.from_dict(ckpt["config"]), name=name or Path(checkpoint).parent.name)
    model.load_state_dict(upgrade_state_names(ckpt["state"], "latent."))
    model.eval()
    model.update()
    return model


def export(checkpoint: str | Path, out: str | Path, name: str, nominal_kbps: float | None = None,
           description: str = "", presets: list[dict] | None = None, half: bool = False,
           vocoder: str | Path | None = None) -> ConvSTFTCodec:
    """Turn a training checkpoint into a zoo model: tables built, optimizers dropped, eval mode.

    Writes ``out`` (safetensors; ``half``: float weights as float16) and beside it ``out`` with
    .json: family, weights hash, the training step, the run's TrainConfig (data, lambdas, steps,
    init) and the command that reproduces it, and either ``nominal_kbps`` (a fixed-rate model) or
    ``presets`` (a variable-rate one: ``[{"name", "q", "kbps"}]``). ``vocoder`` (a vocoder file or
    training checkpoint) replaces an ``ecc-mel`` model's vocoder, e.g. with a later one of the
    shared vocoder's run; the record names it and its step.
    """
    checkpoint = Path(checkpoint)
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model = checkpoint_model(checkpoint, name)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    run_config = checkpoint.parent / "train_config.json"
    train_config = json.loads(run_config.read_text()) if run_config.is_file() else None
    command = f"ecc train --config {run_config}  # train_config below; steps: {ckpt['step']}" if train_config else None
    record = {"family": model.family, "description": description, "step": ckpt["step"],
              "checkpoint": str(checkpoint), "command": command, "train_config": train_config}
    if vocoder is not None:
        step = attach_vocoder(model, vocoder)
        model.update()
        record["vocoder"] = {"file": str(vocoder), "step": step}
    if model.rates:
        if not presets:
            raise ValueError(f"{checkpoint} is variable-rate ({model.rates} rates): give presets")
        record["presets"] = presets
    else:
        record["nominal_kbps"] = nominal_kbps
    model.save(out, record, half=half)
    stored = load_codec(out)  # the hash of what the file holds (float16 rounding included)
    record = {"weights_hash": stored.weights_hash().hex(), **record}
    Path(out).with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return stored
