"""Streaming: push PCM, get bytes; push bytes, get PCM. Memory and latency are bounded by one chunk.

The stream is the streamable framing (format 5) of ``docs/bitstream.md``: a header, then one CRC-chained packet
per chunk, each sent as soon as its chunk is coded. Each chunk is coded by the very calls file mode
uses (:meth:`~ecc.neural_codec.NeuralCodec.encode_chunk` / :meth:`~ecc.neural_codec.NeuralCodec.decode_chunk`), so a
stream with the model's own chunk length carries the same sections as the file of the same input,
and both decode to the same samples.

Algorithmic latency = one chunk (``chunk_seconds``): each chunk is analysed on its own, zero-padded
at its end, so nothing beyond it is waited for. Shorter chunks cost rate and quality (each starts
its transforms and hyperprior afresh; see ``docs/cli.md``).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from entropy.bitstream import StreamParser, header_seed, stream_packet

from .neural_codec import NeuralCodec

STREAM_CHUNK_SECONDS = 1.0  # the default chunk of live streams (file mode uses the model's, 20 s)


class StreamEncoder:
    """Mono float PCM at the model's rate in, stream bytes out, chunk by chunk."""

    def __init__(self, model: NeuralCodec, chunk_seconds: float = STREAM_CHUNK_SECONDS) -> None:
        step = model.frame_samples
        self.model = model
        self.chunk_samples = max(step, round(chunk_seconds * model.sample_rate / step) * step)
        self._pending = np.zeros(0, dtype=np.float32)
        self._header = model.header(0, (), self.chunk_samples).stream_header.to_bytes()
        self._seed: int | None = None
        self._coded = 0
        self._finished = False

    @property
    def latency_ms(self) -> float:
        """Algorithmic latency: one chunk."""
        return 1000 * self.chunk_samples / self.model.sample_rate

    def push(self, pcm: np.ndarray) -> bytes:
        """Add samples ``[n]``; returns the bytes of every chunk completed (and the header, first)."""
        if self._finished:
            raise ValueError("push after finish")
        self._pending = np.concatenate([self._pending, np.asarray(pcm, dtype=np.float32).reshape(-1)])
        out = self._start()
        while len(self._pending) > self.chunk_samples:  # keep one back: the last packet is marked
            out += self._packet(self._pending[: self.chunk_samples], last=False)
            self._pending = self._pending[self.chunk_samples :]
        return out

    def finish(self) -> bytes:
        """The last packet (the rest of the samples); the stream is complete after it."""
        out = self._start() + self._packet(self._pending, last=True)
        self._pending = np.zeros(0, dtype=np.float32)
        self._finished = True
        return out

    def _start(self) -> bytes:
        if self._seed is not None:
            return b""
        self._seed = header_seed(self._header)
        return self._header

    def _packet(self, chunk: np.ndarray, last: bool) -> bytes:
        section = self.model.encode_chunk(chunk, self._coded / self.model.sample_rate)[0] if len(chunk) else b""
        self._coded += len(chunk)
        packet, self._seed = stream_packet(section, len(chunk) if last else None, self._seed)
        return packet


class StreamDecoder:
    """Format-3 stream bytes in, mono float PCM out, chunk by chunk. ``resolve`` finds the model for
    the weights hash in the header (default: the installed zoo)."""

    def __init__(self, resolve: Callable[[bytes], NeuralCodec] | None = None) -> None:
        if resolve is None:
            from .zoo import load_model_by_hash as resolve
        self._resolve = resolve
        self._parser = StreamParser()
        self.model: NeuralCodec | None = None

    @property
    def sample_rate(self) -> int | None:
        return self._parser.header.sample_rate if self._parser.header else None

    def push(self, data: bytes) -> np.ndarray:
        """Add stream bytes; returns the samples of every packet completed."""
        out = []
        for packet in self._parser.feed(data):
            if self.model is None:
                header = self._parser.header
                self.model = self._resolve(header.model_hash)
                self.model.check_stream(header)
            out.append(self.model.decode_chunk(packet.section, packet.samples, self._parser.header.operating_point))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def finish(self) -> None:
        """``BitstreamError`` unless the stream ended with its last packet."""
        self._parser.finish()

    @property
    def done(self) -> bool:
        return self._parser.done
