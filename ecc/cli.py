"""The ``ecc`` command line (also ``python -m ecc``)."""
from __future__ import annotations

import argparse
from importlib.metadata import entry_points
import signal
import sys
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from entropy.bitstream import Bitstream
from entropy.errors import BitstreamError

from .audio import InputError, atomic_output, check_input, check_output, output_format, read_blocks, read_bytes
from .streaming import STREAM_CHUNK_SECONDS
from .wavstream import pcm16, read_wav_stream, wav_stream_header

PROGRESS_MIN_SECONDS = 30.0  # show a progress bar for inputs longer than this


def _progress(total_samples: int | None, rate: int, quiet: bool, desc: str) -> tqdm:
    """A seconds counter on stderr for inputs over ``PROGRESS_MIN_SECONDS`` (of unknown length: always)."""
    if total_samples is None:
        return tqdm(unit="s", desc=desc, disable=quiet, file=sys.stderr, bar_format="{desc}: {n:.1f} s [{elapsed}]")
    seconds = total_samples / rate
    return tqdm(total=seconds, unit="s", desc=desc, disable=quiet or seconds < PROGRESS_MIN_SECONDS, file=sys.stderr,
                bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}]")


def _input_blocks(path: str, sample_rate: int, block: int, quiet: bool):
    """Blocks of ``path``'s audio and the expected sample count (None when unknown): a WAV on stdin is
    read as it arrives; other stdin formats are read whole (libsndfile needs to seek them)."""
    if path == "-":
        check_input(path)
        stdin = sys.stdin.buffer
        head = stdin.peek(4)[:4] if hasattr(stdin, "peek") else b""
        if head == b"RIFF":
            return read_wav_stream(stdin, sample_rate, block), None
        if not head:
            raise InputError("standard input is empty")
    return read_blocks(path, sample_rate, block, notify=not quiet)


def cmd_encode(args: argparse.Namespace) -> None:
    from .streaming import StreamEncoder
    from .zoo import load_at_kbps, load_model

    check_output(args.output, args.force)
    model = load_model(args.model) if args.kbps is None else load_at_kbps(args.model, args.kbps)
    stream = args.stream or args.output == "-" or args.chunk_ms is not None
    default_chunk = STREAM_CHUNK_SECONDS if args.output == "-" else model.chunk_samples / model.sample_rate
    encoder = StreamEncoder(model, args.chunk_ms / 1000 if args.chunk_ms else default_chunk) if stream else None
    block = encoder.chunk_samples if encoder else model.chunk_samples
    blocks, total = _input_blocks(args.input, model.sample_rate, block, args.quiet)
    size = samples = 0
    with _progress(total, model.sample_rate, args.quiet, "encode") as bar, \
            atomic_output(args.output, args.force) as out:
        if stream:  # packets leave as soon as each chunk is coded
            for chunk in blocks:
                data = encoder.push(chunk)
                out.write(data)
                out.flush()
                size, samples = size + len(data), samples + len(chunk)
                bar.update(len(chunk) / model.sample_rate)
            data = encoder.finish()
            out.write(data)
            size += len(data)
        else:
            data, _ = model.compress_chunks(blocks, progress=lambda n: bar.update(n / model.sample_rate))
            out.write(data)
            size, samples = len(data), Bitstream.from_bytes(data).num_samples
    if not args.quiet:
        seconds = samples / model.sample_rate
        rate = f", {size * 8 / seconds / 1000:.3f} kbps" if seconds else ""
        print(f"{args.input} -> {args.output}: {seconds:.2f} s, {size} bytes{rate} ({model.name}"
              + (f", stream of {encoder.latency_ms:.0f} ms chunks" if stream else "") + ")", file=sys.stderr)


def _open_binary(path: str):
    check_input(path)
    return sys.stdin.buffer if path == "-" else open(path, "rb")


def cmd_decode(args: argparse.Namespace) -> None:
    from entropy.bitstream import is_stream

    from .streaming import StreamDecoder
    from .zoo import load_model_by_hash

    check_output(args.output, args.force)
    fmt, subtype = output_format(args.output)
    source = _open_binary(args.input)
    try:
        head = source.read1(64) if hasattr(source, "read1") else source.read(64)
        if not head:
            raise InputError(f"{'standard input' if args.input == '-' else args.input} is empty")
        if is_stream(head):
            decoder = StreamDecoder()
            samples = _decode_stream(decoder, head, source, args, fmt, subtype)
            rate, name = decoder.sample_rate, decoder.model.name if decoder.model else "no model"
        else:
            data = head + source.read()
            model = load_model_by_hash(Bitstream.from_bytes(data).model_hash)
            stream = model.open_bitstream(data)
            with _progress(stream.num_samples, stream.sample_rate, args.quiet, "decode") as bar:
                _write_audio(args.output, args.force, model.decompress_chunks(stream), stream.sample_rate, fmt, subtype,
                             lambda n: bar.update(n / stream.sample_rate))
            samples, rate, name = stream.num_samples, stream.sample_rate, model.name
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    if not args.quiet:
        print(f"{args.input} -> {args.output}: {samples / rate:.2f} s ({name})", file=sys.stderr)


def _write_audio(path: str, force: bool, chunks, sample_rate: int, fmt: str, subtype: str, progress) -> None:
    """Write float chunks to ``path`` atomically; through a pipe or device, as a WAV of unknown length."""
    with atomic_output(path, force) as handle:
        if handle.seekable():
            # libsndfile writes the descriptor itself: no Python callbacks for a signal to land in
            with sf.SoundFile(handle.fileno(), "w", sample_rate, 1, subtype, format=fmt, closefd=False) as out:
                for chunk in chunks:
                    out.write(chunk.clip(-1, 1))
                    progress(len(chunk))
        else:
            if fmt != "WAV":
                raise ValueError(f"{path}: only WAV can be written to a pipe or device")
            handle.write(wav_stream_header(sample_rate))
            for chunk in chunks:
                handle.write(pcm16(chunk))
                handle.flush()
                progress(len(chunk))


def _decode_stream(decoder, head: bytes, source, args: argparse.Namespace, fmt: str, subtype: str) -> int:
    """Decode a format-3 stream as its bytes arrive; returns the samples written."""
    written = 0

    def chunks():
        nonlocal written
        data = head
        while True:
            pcm = decoder.push(data)
            if len(pcm):
                written += len(pcm)
                yield pcm
            if decoder.done:
                if source.read(1):
                    raise BitstreamError("unexpected bytes after the end of the stream")
                break
            data = source.read1(65536) if hasattr(source, "read1") else source.read(65536)
            if not data:
                decoder.finish()  # raises: the stream was cut short
                break

    first = chunks()
    pending = next(first, None)  # the header fixes the sample rate before anything is written
    rate = decoder.sample_rate or 16000

    def all_chunks():
        if pending is not None:
            yield pending
        yield from first

    _write_audio(args.output, args.force, all_chunks(), rate, fmt, subtype, lambda n: None)
    return written


def cmd_info(args: argparse.Namespace) -> None:
    from .zoo import UnknownModelError, list_models, load_model_by_hash

    data = read_bytes(args.input)
    stream = Bitstream.from_bytes(data)
    seconds = stream.num_samples / stream.sample_rate
    try:
        name, installed = load_model_by_hash(stream.model_hash).name, "installed"
    except UnknownModelError:
        name, installed = stream.model_name or "unknown", "NOT installed"
    from entropy.bitstream import OPERATING_POINT_STEPS
    from .registry import family_name

    print(f"family:       {family_name(stream.family)}")
    print(f"model:        {name} (weights {stream.model_hash.hex()}, {installed})")
    if stream.operating_point:
        q = stream.operating_point / OPERATING_POINT_STEPS
        presets = [e.name for e in list_models() if e.q == q and e.record.get("weights_hash") == stream.model_hash.hex()]
        print(f"operating point: q = {q:g}" + (f" (preset {', '.join(presets)})" if presets else ""))
    print(f"sample rate:  {stream.sample_rate} Hz")
    print(f"duration:     {seconds:.3f} s ({stream.num_samples} samples)")
    print(f"size:         {len(data)} bytes ({len(data) - stream.payload_bytes} header/framing)")
    if seconds > 0:
        print(f"bitrate:      {len(data) * 8 / seconds / 1000:.3f} kbps "
              f"(payload only {stream.payload_bytes * 8 / seconds / 1000:.3f} kbps)")
    sizes = ", ".join(str(len(s)) for s in stream.sections)
    print(f"sections:     {len(stream.sections)} [{sizes}] bytes")
    if stream.chunk_samples is not None:
        print(f"framing:      stream, {stream.chunk_samples / stream.sample_rate * 1000:.0f} ms chunks")


def cmd_models(args: argparse.Namespace) -> None:
    from .registry import families
    from .zoo import DEFAULT_MODEL, list_models

    models = list_models()
    print("# name\tnominal kbps (measured on the dev split; other speech codes at other rates)\tfamily, model file"
          "\tdescription", file=sys.stderr)
    for e in models:
        default = "  (default)" if e.name == DEFAULT_MODEL else ""
        where = f"{e.family}, {e.checkpoint.name}" + (f" at q={e.q:g}" if e.q is not None else "")
        print(f"{e.name}\t{e.nominal_kbps:g} kbps (nominal)\t{where}\t{e.description}{default}")
    installed = {e.family for e in models}
    print("# families: " + ", ".join(f"{f.name} (id {f.id}, {'models installed' if f.name in installed else 'no models'})"
                                      for f in families()), file=sys.stderr)


def cmd_train(args: argparse.Namespace) -> None:
    import json
    from dataclasses import replace

    from .discriminator import AdversarialConfig
    from .train import TrainConfig, train

    config = TrainConfig.from_dict(json.loads(Path(args.config).read_text())) if args.config else TrainConfig()
    overrides = {k: v for k, v in (("data", args.data), ("out", args.out), ("steps", args.steps),
                                   ("lmbda", args.lmbda), ("init_from", args.init_from),
                                   ("batch", args.batch), ("seed", args.seed), ("lr", args.lr),
                                   ("lr_end", args.lr_end)) if v is not None}
    if args.adversarial and config.adversarial is None:
        overrides["adversarial"] = AdversarialConfig()
    train(replace(config, **overrides))


def cmd_train_vocoder(args: argparse.Namespace) -> None:
    import json
    from dataclasses import replace

    from .vocoder_train import VocoderTrainConfig, train_vocoder

    config = VocoderTrainConfig.from_dict(json.loads(Path(args.config).read_text())) if args.config else VocoderTrainConfig()
    overrides = {k: v for k, v in (("data", args.data), ("out", args.out), ("steps", args.steps),
                                   ("device", args.device), ("init_from", args.init_from)) if v is not None}
    train_vocoder(replace(config, **overrides))


def cmd_export(args: argparse.Namespace) -> None:
    import json

    from .train import export

    check_output(args.output, args.force)
    if (args.nominal_kbps is None) == (args.presets is None):
        raise InputError("give --nominal-kbps (a fixed-rate model) or --presets (a variable-rate one)")
    presets = json.loads(Path(args.presets).read_text()) if args.presets else None
    model = export(args.checkpoint, args.output, args.name, args.nominal_kbps, args.description, presets, args.half,
                   args.vocoder)
    print(f"exported {args.checkpoint} as {args.name!r} to {args.output} (weights {model.weights_hash().hex()})", file=sys.stderr)


def cmd_export_vocoder(args: argparse.Namespace) -> None:
    from .vocoder_train import export_vocoder

    check_output(args.output, args.force)
    export_vocoder(args.checkpoint, args.output, args.half, args.phase, args.griffin_lim_iterations)
    print(f"exported the vocoder of {args.checkpoint} to {args.output} ({args.phase} phase)", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    from .vocoder import PHASE_SOURCES, VocoderConfig
    from .zoo import DEFAULT_MODEL

    parser = argparse.ArgumentParser(prog="ecc", description="Learned speech compression with real entropy coding.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("encode", help="encode an audio file to an .ecc bitstream",
                       description="Encode wav/flac/ogg (any rate or channel count; resampled and downmixed "
                                   "with a notice) to an .ecc bitstream, chunk by chunk in bounded memory. To stdout "
                                   "(or with --stream) the streamable framing is written, a packet per chunk as soon "
                                   "as it is coded; a WAV on stdin is read as it arrives (other formats whole).")
    p.add_argument("input", help="audio file, or - for stdin")
    p.add_argument("output", help=".ecc file to write, or - for stdout")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"zoo model (default {DEFAULT_MODEL}; see `ecc models`)")
    p.add_argument("--kbps", type=float,
                   help="code at this nominal rate with --model's variable-rate model file (interpolated between "
                        "its presets; see `ecc models`)")
    p.add_argument("--stream", action="store_true",
                   help="write the streamable framing (format 5), a packet per chunk as it is coded; "
                        "always on for stdout")
    p.add_argument("--chunk-ms", type=float,
                   help=f"stream chunk length = latency; implies --stream (default {STREAM_CHUNK_SECONDS * 1000:.0f} ms "
                        "on stdout, else the model's 20 s; rounded to whole latent frames of 40 ms; shorter chunks cost "
                        "rate and quality)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--quiet", action="store_true", help="no notices, summary or progress bar")
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("decode", help="decode an .ecc bitstream to audio",
                       description="Decode an .ecc file or stream with the installed model whose weights hash it "
                                   "carries (.wav/.flac/.ogg/.opus/.mp3 by suffix; WAV on stdout). A stream is "
                                   "decoded packet by packet as it arrives; to a pipe, WAV of unknown length.")
    p.add_argument("input", help=".ecc file, or - for stdin")
    p.add_argument("output", help="audio file to write (.wav/.flac/.ogg/.opus/.mp3), or - for WAV on stdout")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--quiet", action="store_true", help="no summary or progress bar")
    p.set_defaults(func=cmd_decode)

    p = sub.add_parser("info", help="show an .ecc file's model, duration, bitrate and sections")
    p.add_argument("input", help=".ecc file, or - for stdin")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("models", help="list the zoo: name, nominal kbps, family, model file, description")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("train", help="train (or resume) an ecc or ecc-mel model; resumes from OUT/last.pt")
    p.add_argument("--config", help="JSON TrainConfig (fields of ecc.train.TrainConfig; 'family' picks the codec "
                                    "family, 'model' is that family's config: ECCConfig or ECCMelConfig)")
    p.add_argument("--data", help="folder of training audio (default data/asterisk/train)")
    p.add_argument("--out", help="run folder (default runs/ecc)")
    p.add_argument("--steps", type=int)
    p.add_argument("--lmbda", type=float, help="rate weight, per kbps")
    p.add_argument("--batch", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--lr", type=float, help="learning rate (default: the config's, else 5e-4)")
    p.add_argument("--lr-end", type=float, help="decay the learning rate to this by the last step (cosine)")
    p.add_argument("--init-from", help="fine-tune from this checkpoint")
    p.add_argument("--adversarial", action="store_true",
                   help="GAN fine-tuning: add a spectral discriminator's losses (weights etc.: 'adversarial' in --config)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("train-vocoder", help="train (or resume) the shared vocoder; resumes from OUT/last.pt",
                       description="Mel warm-up, then adversarial training (multi-period + multi-resolution "
                                   "discriminators), mel L1 and anti-wrapping phase losses throughout. Stops at "
                                   "--steps; run again with more steps to continue. "
                                   "Uses a CUDA GPU when present.")
    p.add_argument("--config", help="JSON VocoderTrainConfig (fields of ecc.vocoder_train.VocoderTrainConfig)")
    p.add_argument("--data", help="folder of training audio (default data/speech/train)")
    p.add_argument("--out", help="run folder (default runs/vocoder)")
    p.add_argument("--steps", type=int, help="train until this step (default 100000)")
    p.add_argument("--device", help="auto (default: cuda if available), cpu, cuda, cuda:1, ...")
    p.add_argument("--init-from", help="a new run only: start the generator from this vocoder file (ecc export-vocoder, "
                                       "a committed milestone) at the step it records; discriminators start fresh")
    p.set_defaults(func=cmd_train_vocoder)

    p = sub.add_parser("export", help="turn a training checkpoint into a coding-ready model file + record")
    p.add_argument("checkpoint")
    p.add_argument("name", help="the name the model is used by (ecc encode --model NAME)")
    p.add_argument("output", help="model file (.safetensors); its record goes to the same name with .json")
    p.add_argument("--nominal-kbps", type=float, help="a fixed-rate model's rate, as listed by `ecc models`")
    p.add_argument("--presets", help='a variable-rate model\'s named operating points: JSON file of '
                                     '[{"name": ..., "q": ..., "kbps": ...}] (benchmarks/variable_rate.py writes one)')
    p.add_argument("--half", action="store_true", help="store float weights as float16 (half the size)")
    p.add_argument("--vocoder", help="an ecc-mel model: take its vocoder from this vocoder file or vocoder training "
                                     "checkpoint (e.g. a later step of the shared vocoder's run)")
    p.add_argument("--description", default="", help="one line for `ecc models`")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("export-vocoder", help="write the generator of a vocoder training checkpoint (or a vocoder file, "
                                              "with another phase) as a vocoder file",
                       description="safetensors weights with the step, training config and continuing command in "
                                   "the metadata: for ecc-mel models (--vocoder) and for restarting a lost run "
                                   "(ecc train-vocoder --init-from). From a vocoder file (e.g. ecc/zoo/vocoder.safetensors), "
                                   "the same weights and record with the phase and iterations given here.")
    p.add_argument("checkpoint", help="vocoder training checkpoint (runs/vocoder/last.pt) or vocoder file")
    p.add_argument("output", help="vocoder file (.safetensors)")
    p.add_argument("--half", action="store_true", help="store float weights as float16 (half the size)")
    p.add_argument("--phase", choices=PHASE_SOURCES, default="generated",
                   help="the phase the file's vocoder synthesizes with: its phase head's, or reconstructed from its "
                        "magnitude (PGHI + Griffin-Lim; docs/vocoder.md)")
    p.add_argument("--griffin-lim-iterations", type=int, default=VocoderConfig.griffin_lim_iterations, metavar="N",
                   help="with --phase reconstructed: Griffin-Lim iterations after PGHI (default %(default)s: encode + "
                        "decode at >= 20x real time on one thread; 16 scores about 0.04 PESQ-WB more)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(func=cmd_export_vocoder)

    for plugin in entry_points(group="ecc.commands"):  # e.g. benchmarks: bench, plot, demo, prepare-data
        plugin.load()(sub)
    return parser


_interrupted = False


def _terminate(signum: int, frame) -> None:
    """SIGTERM and Ctrl-C unwind as ``KeyboardInterrupt``, so partial outputs are removed."""
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    global _interrupted
    args = build_parser().parse_args(argv)
    _interrupted = False
    previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        args.func(args)
    except BaseException as exc:
        # an interrupt raised inside a C callback (soundfile's I/O) is swallowed there and
        # resurfaces as another error: it is still an interrupt
        if isinstance(exc, KeyboardInterrupt) or _interrupted:
            return 130
        if isinstance(exc, (InputError, BitstreamError, OSError, ValueError)):
            print(f"ecc: error: {_one_line(exc)}", file=sys.stderr)
            return 1
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
