import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface HttpServer {
  /** Base URL, no trailing slash. */
  readonly url: string;
  /** Install the request handler (the URL, hence the OAuth issuer, is known only after listen). */
  setHandler(handler: Handler): void;
  /** Stop listening and cut every connection, keep-alive ones included. Idempotent. */
  close(): Promise<void>;
}

/** Listen on host:port (0 = any free port); answers 503 until a handler is installed. */
export async function startHttpServer(host: string, port: number): Promise<HttpServer> {
  let handler: Handler = (_req, res) => {
    res.statusCode = 503;
    res.end('starting');
  };
  const server: Server = createServer((req, res) => handler(req, res));
  // A client that stalls mid-request must not keep close() waiting.
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(host)}:${address.port}`,
    setHandler(next) {
      handler = next;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** The host to put in URLs: a wildcard bind is reached on loopback; IPv6 needs brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
