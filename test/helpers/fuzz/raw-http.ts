import { connect } from 'node:net';

/** A request written byte for byte: what fetch refuses to send (NUL bytes, invalid UTF-8, broken escapes) included. */
export interface RawRequest {
  method: string;
  /** The request target as sent, unvalidated (`/interaction/%FF?x=%E0%A4%A`). */
  target: string | Buffer;
  headers: Record<string, string | Buffer>;
  body?: Buffer;
}

export interface RawResponse {
  /** 0 when the server closed the connection without a status line, -1 when it did not answer in time. */
  status: number;
  headers: string;
  body: Buffer;
}

const CRLF = Buffer.from('\r\n');

function encode(request: RawRequest, host: string): Buffer {
  const lines: Buffer[] = [
    Buffer.from(`${request.method} `),
    Buffer.from(request.target),
    Buffer.from(' HTTP/1.1\r\n'),
  ];
  const headers: Record<string, string | Buffer> = { host, connection: 'close', ...request.headers };
  if (request.body && headers['content-length'] === undefined) headers['content-length'] = String(request.body.length);
  for (const [name, value] of Object.entries(headers)) lines.push(Buffer.from(`${name}: `), Buffer.from(value), CRLF);
  lines.push(CRLF);
  if (request.body) lines.push(request.body);
  return Buffer.concat(lines);
}

function parse(bytes: Buffer): RawResponse {
  const end = bytes.indexOf('\r\n\r\n');
  const head = bytes.subarray(0, end < 0 ? bytes.length : end).toString('latin1');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
  return {
    status: status ? Number(status) : 0,
    headers: head,
    body: end < 0 ? Buffer.alloc(0) : bytes.subarray(end + 4),
  };
}

/**
 * Sends one request on its own loopback connection (`Connection: close`) and reads the answer to
 * the end. A server that answers before reading a huge body and closes may reset the connection
 * under the writer: what it answered still counts.
 */
export function sendRaw(port: number, request: RawRequest, timeoutMs = 15_000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (timedOut = false) => {
      clearTimeout(timer);
      socket.destroy();
      const response = parse(Buffer.concat(chunks));
      resolve(timedOut && response.status === 0 ? { ...response, status: -1 } : response);
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', () => {
      // EPIPE/ECONNRESET after the server answered early: keep reading what arrived.
    });
    socket.write(encode(request, `localhost:${port}`));
  });
}
