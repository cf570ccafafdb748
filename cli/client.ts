/** The REST calls of the CLI, over Node's fetch; every error becomes an ApiError or Unreachable. */
import type {
  Accepted,
  OperationAccepted,
  OperationList,
  OperationView,
  ProvisioningList,
  ProvisioningView,
} from '../api/schemas.js';
import type { OperationKind, SampleWorkloadResult } from '../contract/operations.js';
import { ApiError, type Problem, Unreachable } from './errors.js';
import type { Target } from './config.js';

const TIMEOUT_MS = 30_000;

export class ApiClient {
  constructor(private readonly target: Target) {}

  get url(): string {
    return this.target.url;
  }

  start(body: unknown): Promise<Accepted> {
    return this.call('POST', '/v1/provisionings', body);
  }

  get(id: string): Promise<ProvisioningView> {
    return this.call('GET', `/v1/provisionings/${encodeURIComponent(id)}`);
  }

  /** `status` as the user typed it: the API says which values it takes. */
  list(filter: { status?: string; cluster?: string; limit?: string; pageToken?: string }): Promise<ProvisioningList> {
    const q = new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => e[1] !== undefined));
    return this.call('GET', `/v1/provisionings${q.size ? `?${q}` : ''}`);
  }

  approve(id: string, comment?: string): Promise<Accepted> {
    return this.call('POST', `/v1/provisionings/${encodeURIComponent(id)}/approve`, comment ? { comment } : {});
  }

  cancel(id: string): Promise<Accepted> {
    return this.call('POST', `/v1/provisionings/${encodeURIComponent(id)}/cancel`);
  }

  startOperation(id: string, kind: OperationKind, body: object = {}): Promise<OperationAccepted> {
    return this.call('POST', `/v1/provisionings/${encodeURIComponent(id)}/${kind}`, body);
  }

  getOperation(operationId: string): Promise<OperationView> {
    return this.call('GET', `/v1/operations/${encodeURIComponent(operationId)}`);
  }

  /** Values as the user typed them: the API says which it takes. */
  listOperations(filter: {
    binding?: string;
    kind?: string;
    status?: string;
    limit?: string;
    pageToken?: string;
  }): Promise<OperationList> {
    const q = new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => e[1] !== undefined));
    return this.call('GET', `/v1/operations${q.size ? `?${q}` : ''}`);
  }

  /** The access report, as the API serves it (its shape is the access workflow's). */
  access(id: string): Promise<Record<string, unknown>> {
    return this.call('GET', `/v1/provisionings/${encodeURIComponent(id)}/access`);
  }

  sampleWorkload(id: string): Promise<SampleWorkloadResult> {
    return this.call('GET', `/v1/provisionings/${encodeURIComponent(id)}/sample-workload`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
    if (this.target.token) headers.authorization = `Bearer ${this.target.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.target.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw new Unreachable(`cannot reach the API at ${this.target.url}: ${reason(err)}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const problem = json && typeof json === 'object' ? (json as Problem) : undefined;
      throw new ApiError(res.status, problem, problem ? '' : text.slice(0, 300));
    }
    if (json === undefined) throw new ApiError(res.status, undefined, `not JSON: ${text.slice(0, 300)}`);
    return json as T;
  }
}

/** fetch says "fetch failed"; the useful part (ECONNREFUSED, a timeout) is in its cause. */
function reason(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000} s`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
