import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A real TCP proxy in front of PostgreSQL or Redis, to make the outages the servers themselves
 * cannot be made to have in a shared test run: connections closed under the node (a restart), a
 * service that refuses connections (stopped), and one that accepts but never answers (paused,
 * or a network partition).
 */
export interface TcpProxy {
  /** `url` with its host and port replaced by the proxy's. */
  readonly url: string;
  /** Closes every open connection at once, as a restarting server does; new ones are accepted. */
  cut(): void;
  /** Stops listening (connections are refused) and cuts the open ones: the service is down. */
  refuse(): Promise<void>;
  /** Holds every byte both ways and every new connection: the service stalls, nothing errors. */
  stall(): void;
  /** Forwards again (what was held flows on) and listens again if refused. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

interface Pipe {
  client: Socket;
  upstream: Socket;
  /** Bytes read while stalled, per direction, written on restore. */
  held: { toUpstream: Buffer[]; toClient: Buffer[] };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const targetUrl = new URL(target);
  const pipes = new Set<Pipe>();
  const waiting: Socket[] = [];
  let stalled = false;

  const forward = (from: Socket, to: Socket, held: Buffer[]) =>
    from.on('data', (chunk: Buffer) => (stalled ? held.push(chunk) : to.write(chunk)));

  function open(client: Socket): void {
    const upstream = connect(Number(targetUrl.port), targetUrl.hostname);
    const pipe: Pipe = { client, upstream, held: { toUpstream: [], toClient: [] } };
    pipes.add(pipe);
    forward(client, upstream, pipe.held.toUpstream);
    forward(upstream, client, pipe.held.toClient);
    const end = () => {
      pipes.delete(pipe);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) socket.on('error', end).on('close', end);
  }

  const server = createServer((client) => {
    client.on('error', () => client.destroy());
    if (stalled) waiting.push(client);
    else open(client);
  });
  const port = await listen(server, 0);
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);

  const cut = () => {
    for (const pipe of pipes) {
      pipe.client.destroy();
      pipe.upstream.destroy();
    }
    for (const client of waiting.splice(0)) client.destroy();
  };

  return {
    url: url.href,
    cut,
    async refuse() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      cut();
      await closed;
    },
    stall: () => void (stalled = true),
    async restore() {
      stalled = false;
      for (const pipe of pipes) {
        for (const chunk of pipe.held.toUpstream.splice(0)) pipe.upstream.write(chunk);
        for (const chunk of pipe.held.toClient.splice(0)) pipe.client.write(chunk);
      }
      for (const client of waiting.splice(0)) open(client);
      if (!server.listening) await listen(server, port);
    },
    async close() {
      cut();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
