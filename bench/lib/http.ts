import { Pool } from 'undici';

export interface JsonResponse {
  status: number;
  body: any;
  /** Length of the response text. */
  bytes: number;
}

/**
 * Keep-alive HTTP/1.1 connections to the service over loopback (undici), at
 * most `connections` of them: each concurrent client of a scenario holds one.
 */
export class HttpClient {
  private readonly pool: Pool;

  constructor(baseUrl: string, connections: number) {
    this.pool = new Pool(baseUrl, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: 60_000,
      bodyTimeout: 120_000,
    });
  }

  async json(
    method: 'GET' | 'POST',
    path: string,
    options: { token?: string; clientId?: string; body?: string } = {},
  ): Promise<JsonResponse> {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.clientId) headers['x-client-id'] = options.clientId;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.pool.request({ method, path, headers, body: options.body });
    const text = await response.body.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.statusCode, body, bytes: text.length };
  }

  /** Like json() but throws unless the status is 200. */
  async ok(
    method: 'GET' | 'POST',
    path: string,
    options: { token?: string; clientId?: string; body?: string } = {},
  ): Promise<any> {
    const { status, body } = await this.json(method, path, options);
    if (status !== 200) {
      throw new Error(`${method} ${path} → ${status} ${JSON.stringify(body).slice(0, 300)}`);
    }
    return body;
  }

  /** A streamed GET: the body is handed to `sink` chunk by chunk. */
  async stream(
    path: string,
    token: string,
    sink: (chunk: Buffer) => void,
  ): Promise<{ status: number; bytes: number }> {
    const response = await this.pool.request({
      method: 'GET',
      path,
      headers: { authorization: `Bearer ${token}` },
    });
    let bytes = 0;
    for await (const chunk of response.body) {
      bytes += (chunk as Buffer).length;
      sink(chunk as Buffer);
    }
    return { status: response.statusCode, bytes };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
