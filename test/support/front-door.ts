/**
 * A TCP front door on a port the kernel picks (port 0), owned by the test for its whole life: it forwards to a
 * backend while up and drops every connection while down. A service can then go away and come back at the same
 * address without the test ever giving up its port, so no other process can take the port in between.
 */
import net from 'node:net';

export interface FrontDoor {
  port: number;
  url: string;
  /** Forward new connections to 127.0.0.1:`backendPort`. */
  up(backendPort: number): void;
  /** Drop open connections and every new one, as a service that went away. */
  down(): void;
  /** Connections dropped while down: how many times a client tried in vain. */
  refused(): number;
  close(): Promise<void>;
}

export async function frontDoor(): Promise<FrontDoor> {
  let backend: number | undefined;
  let refused = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (backend === undefined) {
      refused++;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(backend, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        open.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    up(backendPort) {
      backend = backendPort;
    },
    down() {
      backend = undefined;
      for (const s of open) s.destroy();
    },
    refused: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
