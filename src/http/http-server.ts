// A minimal node:http server for a few GET routes: 404 elsewhere, 405 for other methods, loopback by default.

import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RouteResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export type RouteHandler = () => Promise<RouteResponse>;

/** Path (without query) → handler; e.g. { '/health': …, '/livez': …, '/readyz': … }. */
export type Routes = Readonly<Record<string, RouteHandler>>;

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

export class HttpEndpoint {
  readonly #server: Server;

  /** onError hears what the server reports after it listens (a failed accept, e.g. out of file descriptors). */
  constructor(routes: Routes, onError: (error: Error) => void) {
    const handlers = new Map(Object.entries(routes));
    this.#server = createServer((req, res) => {
      const handler = handlers.get((req.url ?? '/').split('?')[0] ?? '/');
      if (handler === undefined) return send(res, 404, 'text/plain', 'not found\n', false);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        return send(res, 405, 'text/plain', 'method not allowed\n', false);
      }
      handler().then(
        (r) => send(res, r.status, r.contentType, r.body, req.method === 'HEAD'),
        (error: unknown) => send(res, 500, 'text/plain', `${(error as Error).message}\n`, false),
      );
    });
    // Keep-alive sockets from scrapers must not hold up a graceful stop.
    this.#server.keepAliveTimeout = 5000;
    // Without a listener, an 'error' after listen() would be an uncaught exception.
    this.#server.on('error', onError);
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
