// The WebSocket client of the load generator (bench/server/load.mjs), hand-rolled over `node:net`
// so that it costs the shared machine as little as possible per message: sockets read into one
// reused buffer (net's `onread`: no allocation, stream or 'data' event per read), incoming payloads
// are handed over as slices of it (no copy), one Buffer per outgoing frame, and the answers sent
// while a read is handled leave in one write. The same client drives Perch and the bare relay, so
// the two figures stay comparable.
//
// Just enough of RFC 6455 for a benchmark against a known server: ws:// only, no extensions (no
// permessage-deflate), text frames out (masked, as a client must), whole frames in. Pings are
// answered, a close is answered and reported; a fragmented message, reserved bits or an unknown
// opcode throw, so a server that sends them fails the run loudly instead of skewing it.
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { connect } from 'node:net';

const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

// The RFC asks for a fresh, unpredictable mask key per frame. Keys are taken 4 bytes at a time
// from a pool that one randomFillSync call refills, so a frame costs no call into the CSPRNG.
const keys = Buffer.allocUnsafe(64 * 1024);
let keyAt = keys.length;

// Every socket reads into this one buffer: reads are handled one at a time, on this thread, and
// nothing keeps a view of it after the read is handled (an unfinished frame is copied out).
const readBuffer = Buffer.allocUnsafe(256 * 1024);

/** One masked frame, FIN set: header, mask key, masked payload (a string is sent as UTF-8). */
function frame(opcode, payload) {
  const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const head = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + length);
  out[0] = 0x80 | opcode;
  if (length < 126) {
    out[1] = 0x80 | length;
  } else if (length < 0x10000) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  if (keyAt === keys.length) {
    randomFillSync(keys);
    keyAt = 0;
  }
  const m0 = (out[head] = keys[keyAt]);
  const m1 = (out[head + 1] = keys[keyAt + 1]);
  const m2 = (out[head + 2] = keys[keyAt + 2]);
  const m3 = (out[head + 3] = keys[keyAt + 3]);
  keyAt += 4;
  const start = head + 4;
  if (typeof payload === 'string') out.write(payload, start);
  else payload.copy(out, start);
  // Mask in place, 4 bytes per turn, then the tail.
  const end = start + length;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    out[i] ^= m0;
    out[i + 1] ^= m1;
    out[i + 2] ^= m2;
    out[i + 3] ^= m3;
  }
  if (i < end) out[i++] ^= m0;
  if (i < end) out[i++] ^= m1;
  if (i < end) out[i] ^= m2;
  return out;
}

class Client {
  /** @param {{ onMessage(data: Buffer): void, onClose?(code: number, reason: string): void }} handlers */
  constructor(socket, handlers) {
    this.socket = socket;
    this.handlers = handlers;
    this.pending = undefined; // the start of a frame whose rest has not arrived yet
    this.closed = false;
  }

  /** Sends one text frame. */
  send(text) {
    if (!this.closed) this.socket.write(frame(TEXT, text));
  }

  /** Drops the connection without a closing handshake (the end of a run); reports nothing. */
  terminate() {
    this.closed = true;
    this.socket.destroy();
  }

  /** Parses a chunk of the byte stream, which may hold part of a frame, one, or many. */
  receive(chunk) {
    const data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]); // (a copy)
    this.pending = undefined;
    let at = 0;
    // Whatever the handlers send while this chunk is read (a closed-loop answer per message)
    // leaves in one write instead of one per frame.
    this.socket.cork();
    try {
      while (!this.closed && data.length - at >= 2) {
        const b0 = data[at];
        const b1 = data[at + 1];
        if (b1 & 0x80) throw new Error('a server frame is masked');
        let length = b1 & 0x7f;
        let head = 2;
        if (length === 126) {
          if (data.length - at < 4) break;
          length = data.readUInt16BE(at + 2);
          head = 4;
        } else if (length === 127) {
          if (data.length - at < 10) break;
          length = Number(data.readBigUInt64BE(at + 2));
          head = 10;
        }
        if (data.length - at < head + length) break;
        const payload = data.subarray(at + head, at + head + length);
        at += head + length;
        this.handleFrame(b0, payload);
      }
    } finally {
      this.socket.uncork();
    }
    if (at < data.length && !this.closed) this.pending = Buffer.from(data.subarray(at)); // out of readBuffer
  }

  /** Acts on one whole frame from the server (`b0`: its first byte, FIN, RSV and opcode). */
  handleFrame(b0, payload) {
    const opcode = b0 & 0x0f;
    if (b0 & 0x70) throw new Error(`a server frame has reserved bits set (0x${b0.toString(16)}): no extension was negotiated`);
    if (!(b0 & 0x80) || opcode === 0) throw new Error('the server sent a fragmented message, which this client does not reassemble');
    if (opcode === TEXT || opcode === BINARY) return this.handlers.onMessage(payload);
    if (opcode === PING) return this.socket.write(frame(PONG, payload));
    if (opcode === PONG) return;
    if (opcode === CLOSE) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      // Answer with the same code (none if the server gave none), then stop.
      this.socket.end(frame(CLOSE, payload.subarray(0, 2)));
      return this.lost(code, payload.subarray(2).toString());
    }
    throw new Error(`the server sent a frame with unknown opcode ${opcode}`);
  }

  /** The connection ended without `terminate`: a close frame, an error, or the socket closing. */
  lost(code, reason) {
    if (this.closed) return;
    this.closed = true;
    this.handlers.onClose?.(code, reason);
  }
}

/**
 * Opens a WebSocket to a ws:// URL. Resolves once the server has answered 101 with the right
 * Sec-WebSocket-Accept; rejects if the handshake fails. Messages (Buffer slices of a shared read
 * buffer: valid only during the call, copy what must outlive it) go to `handlers.onMessage`; an
 * end not asked for goes to `handlers.onClose`.
 */
export function connectWebSocket(url, handlers) {
  const { hostname, port, pathname, search, host, protocol } = new URL(url);
  if (protocol !== 'ws:') throw new Error(`${url}: only ws:// URLs are supported`);
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1').update(key + ACCEPT_GUID).digest('base64');
  return new Promise((resolve, reject) => {
    let client; // set once the handshake is done
    const read = (length) => {
      const chunk = readBuffer.subarray(0, length);
      if (client) client.receive(chunk);
      else handshake(chunk);
    };
    const socket = connect({ host: hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(port || 80), onread: { buffer: readBuffer, callback: read } });
    socket.setNoDelay(true);
    let response = Buffer.alloc(0);
    const fail = (error) => {
      socket.destroy();
      reject(error);
    };
    socket.once('connect', () => {
      socket.write(
        `GET ${pathname}${search} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    const handshake = (chunk) => {
      response = Buffer.concat([response, chunk]);
      const end = response.indexOf('\r\n\r\n');
      if (end < 0) return response.length > 16384 ? fail(new Error(`${url}: no end to the handshake response`)) : undefined;
      const [status, ...lines] = response.subarray(0, end).toString('latin1').split('\r\n');
      const header = (name) => lines.find((line) => line.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
      if (!/^HTTP\/1\.1 101\b/.test(status)) return fail(new Error(`${url}: the server answered ${status}`));
      if (header('sec-websocket-accept') !== accept) return fail(new Error(`${url}: wrong Sec-WebSocket-Accept`));
      if (header('sec-websocket-extensions')) return fail(new Error(`${url}: the server chose extensions that were not offered`));
      client = new Client(socket, handlers);
      resolve(client);
      if (response.length > end + 4) client.receive(response.subarray(end + 4));
    };
    socket.on('error', (error) => (client ? client.lost(1006, error.message) : fail(error)));
    socket.on('close', () => (client ? client.lost(1006, 'connection closed') : fail(new Error(`${url}: closed during the handshake`))));
  });
}
