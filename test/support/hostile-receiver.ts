import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/**
 * SPEC §10 "Hostile peers": a webhook receiver on 127.0.0.1 that answers as badly as a peer can.
 * Each request is counted (webhook-id, arrival time) before it is answered, so a test can compare
 * what was POSTed with what the delivery loop recorded.
 *
 * - `ok` 204; `nul` 200 with NUL bytes in the body; `binary` 200 with every byte value (invalid
 *   UTF-8 included); `binary500` the same with 500; `gzip` 200, `content-encoding: gzip`;
 * - `huge` 200 with a 10 MB body; `endless` 200 with a body that never ends;
 * - `slow` answers 204 only after `slowMs` (30 s: past any delivery timeout); `never` never answers;
 * - `reset` drops the connection (RST) without an answer; `redirect` 302 to `redirectTo`;
 * - `tls` a plain TCP server behind an https URL: every TLS handshake fails.
 */
export type HostileMode = 'ok' | 'nul' | 'binary' | 'binary500' | 'gzip' | 'huge' | 'endless' | 'slow' | 'never' | 'reset' | 'redirect' | 'tls';

export interface Post {
  /** The webhook-id ('' for a TLS connection: nothing readable arrives). */
  readonly id: string;
  readonly atMs: number;
}

export interface HostileReceiver {
  readonly url: string;
  mode: HostileMode;
  readonly posts: Post[];
  /** Body bytes the receiver managed to hand to the socket (huge, endless). */
  readonly bytesWritten: () => number;
  close(): Promise<void>;
}

/** Every byte value, then sequences UTF-8 forbids (overlong, a surrogate, a cut-off one). */
export const BINARY_BODY = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf0, 0x9f])]);
export const NUL_BODY = Buffer.from('ok\u0000\u0000{"received":true}\u0000', 'utf8');
export const GZIP_BODY = gzipSync(Buffer.from('{"received":true,"note":"this text is only readable once inflated"}'.repeat(20)));
const HUGE_BYTES = 10 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'x');

export async function startHostileReceiver(mode: HostileMode, options: { slowMs?: number; redirectTo?: string } = {}): Promise<HostileReceiver> {
  const posts: Post[] = [];
  const open = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let written = 0;
  const receiver: HostileReceiver = {
    url: '',
    mode,
    posts,
    bytesWritten: () => written,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };

  /** Writes `total` bytes (Infinity: until the peer goes), minding backpressure. */
  const stream = (res: ServerResponse, total: number) => {
    const pump = () => {
      while (!res.destroyed && written < total) {
        const ok = res.write(CHUNK);
        written += CHUNK.length;
        if (!ok) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    written = 0;
    pump();
  };

  const answer = (req: IncomingMessage, res: ServerResponse) => {
    switch (receiver.mode) {
      case 'ok': return void res.writeHead(204).end();
      case 'nul': return void res.writeHead(200, { 'content-type': 'text/plain' }).end(NUL_BODY);
      case 'binary': return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(BINARY_BODY);
      case 'binary500': return void res.writeHead(500, { 'content-type': 'application/octet-stream' }).end(BINARY_BODY);
      case 'gzip': return void res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(GZIP_BODY);
      case 'huge': return void (res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(HUGE_BYTES) }), stream(res, HUGE_BYTES));
      case 'endless': return void (res.writeHead(200, { 'content-type': 'text/plain' }), stream(res, Infinity));
      case 'slow': {
        const timer = setTimeout(() => res.writeHead(204).end(), options.slowMs ?? 30_000);
        timers.add(timer);
        return;
      }
      case 'never': return;
      case 'reset': return void req.socket.resetAndDestroy();
      case 'redirect': return void res.writeHead(302, { location: options.redirectTo ?? 'http://127.0.0.1:9/elsewhere' }).end();
      case 'tls': throw new Error('unreachable: a tls receiver is a plain TCP server');
    }
  };

  let server: Server | ReturnType<typeof createTcpServer>;
  if (mode === 'tls') {
    // What an https client meets at a plain-text port: not a TLS server hello.
    server = createTcpServer((socket) => {
      posts.push({ id: '', atMs: Date.now() });
      socket.on('error', () => undefined);
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
    });
  } else {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        posts.push({ id: String(req.headers['webhook-id']), atMs: Date.now() });
        answer(req, res);
      });
    });
  }
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (receiver as { url: string }).url = `${mode === 'tls' ? 'https' : 'http'}://127.0.0.1:${port}/hooks`;
  return receiver;
}
