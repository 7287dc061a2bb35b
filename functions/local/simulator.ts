import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Config } from '../engine/config/schema.ts';
import { DRS_JOB_ID } from '../engine/ids.ts';
import { type SimAccessKey, SimulatedAccessKeys } from './simulator-auth.ts';

/**
 * A loopback simulator of the Huawei Cloud calls Nightshift makes (upstream-apis.md): IAM
 * tokens, VIAS tasks and batch tasks, DRS jobs, CPTS tasks, with a state machine per task,
 * strict request validation, token checks and fault injection. Error codes the documentation
 * names are used as documented; the others (marked SIM) are plausible stand-ins.
 */

export type ViasState = 'STOPPED' | 'RUNNING' | 'FAILED' | 'STARTING' | 'STOPPING';
export type DrsStatus = 'INCRE_TRANSFER_STARTED' | 'PAUSING' | 'RELEASE_RESOURCE_COMPLETE';
/** CPTS run_status: 0 running, 2 ended, 9 waiting */
export type CptsRunStatus = 0 | 2 | 9;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or the raw text if it is not JSON, or undefined. */
  body: unknown;
  at: number;
}

/** What one scripted step does to a request it matches. */
export type Fault =
  | { kind: 'respond'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'non-json'; status?: number; body?: string }
  | { kind: 'latency'; ms: number }
  | { kind: 'pass' }
  /** Handle normally, but these DRS jobs fail in the batch answer / the VIAS batch reports failures. */
  | { kind: 'partial'; jobIds?: string[]; failedCount?: number }
  | { kind: 'expire-token' }
  /** Applied, but the answer is lost: the request takes effect and no answer ever comes. */
  | { kind: 'lost' };

export interface FaultMatch {
  method?: string;
  /** Substring of, or pattern over, the request path. */
  path?: string | RegExp;
}

interface Script {
  match: FaultMatch;
  steps: Fault[];
  repeat: boolean;
}

export interface IamUser {
  domain: string;
  user: string;
  password: string;
}

interface TokenInfo {
  projectId: string;
  expiresAtMs: number;
}

export interface SimulatorOptions {
  /** Added to every answer. */
  latencyMs?: number;
  /** Lifetime of IAM tokens (Huawei: 24 h). */
  tokenTtlMs?: number;
  /**
   * How long a VIAS task stays STARTING / STOPPING and a CPTS task waiting (run_status 9) after
   * an action, before it settles. Default 0: at once.
   */
  settleMs?: number;
  now?: () => number;
}

const CPTS_OK = 'SVCSTG.CPTS.0000000';

export class HuaweiSimulator {
  readonly requests: RecordedRequest[] = [];
  /** The most requests the simulator was answering at one time. */
  peakInFlight = 0;
  private inFlight = 0;
  latencyMs: number;
  tokenTtlMs: number;
  settleMs: number;
  private readonly now: () => number;
  /** Transitions under way: the state each task settles to, and when. */
  private readonly settling = new Map<string, { to: ViasState | CptsRunStatus; at: number }>();
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  private scripts: Script[] = [];
  private readonly tokens = new Map<string, TokenInfo>();
  /** Access keys and the signature check (simulator-auth.ts). */
  readonly accessKeys: SimulatedAccessKeys;
  /** The body bytes of each request, for the signature check. */
  private readonly received = new WeakMap<IncomingMessage, Buffer>();
  private readonly users: IamUser[] = [];
  private readonly vias = new Map<string, ViasState>();
  private readonly viasBatches = new Map<string, { running: boolean; subtasks: number }>();
  private readonly drs = new Map<string, DrsStatus>();
  private readonly cpts = new Map<string, { suiteId: number; runStatus: CptsRunStatus; runs: number }>();
  private nextRunId = 32517;

  constructor(options: SimulatorOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.tokenTtlMs = options.tokenTtlMs ?? 24 * 3600_000;
    this.settleMs = options.settleMs ?? 0;
    this.now = options.now ?? Date.now;
    this.accessKeys = new SimulatedAccessKeys(() => this.now());
  }

  // ---- lifecycle ----

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    return this.url;
  }

  get url(): string {
    if (!this.server) throw new Error('the simulator is not started');
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  // ---- state set-up ----

  addUser(user: IamUser): void {
    this.users.push(user);
  }

  /** Registers a ready token (a `{"token": ...}` secret) valid for one project. */
  addToken(token: string, projectId: string, ttlMs = this.tokenTtlMs): void {
    this.tokens.set(token, { projectId, expiresAtMs: this.now() + ttlMs });
  }

  revokeToken(token: string): void {
    this.tokens.delete(token);
  }

  /**
   * Called once before an unknown token, access key or IAM user is refused, to learn credentials
   * that were put in the secrets file a moment ago (`serve --simulate`).
   */
  set onUnknownCredentials(lookup: (() => void) | undefined) {
    this.lookUpCredentials = lookup;
    this.accessKeys.onUnknown = lookup;
  }

  private lookUpCredentials: (() => void) | undefined;

  /** Registers an access key (an `{"aksk": ...}` secret) whose user may call one project. */
  addAccessKey(key: SimAccessKey): void {
    this.accessKeys.add(key);
  }

  /** Creates a VIAS task, or sets its state as if someone changed it in the console. */
  addViasTask(projectId: string, taskId: string, state: ViasState = 'STOPPED'): void {
    this.settling.delete(`vias/${projectId}/${taskId}`);
    this.vias.set(`${projectId}/${taskId}`, state);
  }

  addViasBatchTask(projectId: string, id: string, subtasks = 3): void {
    this.viasBatches.set(`${projectId}/${id}`, { running: false, subtasks });
  }

  /** Creates a DRS job, or sets its status as if someone changed it in the console. */
  addDrsJob(projectId: string, jobId: string, status: DrsStatus = 'INCRE_TRANSFER_STARTED'): void {
    this.drs.set(`${projectId}/${jobId.toLowerCase()}`, status);
  }

  /** Creates a CPTS task, or sets its run status as if someone changed it in the console. */
  addCptsTask(projectId: string, testSuiteId: number, taskId: number, runStatus: CptsRunStatus = 2): void {
    this.settling.delete(`cpts/${projectId}/${taskId}`);
    this.cpts.set(`${projectId}/${taskId}`, { suiteId: testSuiteId, runStatus, runs: 0 });
  }

  /** Settles transitions whose time has come: state is read lazily, so no timers are left. */
  private settle(): void {
    for (const [key, { to, at }] of this.settling) {
      if (at > this.now()) continue;
      this.settling.delete(key);
      const [service, ...rest] = key.split('/');
      const id = rest.join('/');
      if (service === 'vias') this.vias.set(id, to as ViasState);
      else {
        const task = this.cpts.get(id);
        if (task) task.runStatus = to as CptsRunStatus;
      }
    }
  }

  /** Creates every target of a config in its idle state, with a token per account project. */
  seed(config: Config): void {
    for (const target of Object.values(config.targets)) {
      const projectId = config.accounts[target.account]!.projectId;
      if (target.kind === 'vias-task') this.addViasTask(projectId, target.taskId);
      else if (target.kind === 'vias-batch-task') this.addViasBatchTask(projectId, target.batchTaskId);
      else if (target.kind === 'drs-job') this.addDrsJob(projectId, target.jobId);
      else this.addCptsTask(projectId, target.testSuiteId, target.taskId);
    }
  }

  viasState(projectId: string, taskId: string): ViasState | undefined {
    this.settle();
    return this.vias.get(`${projectId}/${taskId}`);
  }

  viasBatchRunning(projectId: string, id: string): boolean | undefined {
    return this.viasBatches.get(`${projectId}/${id}`)?.running;
  }

  drsStatus(projectId: string, jobId: string): DrsStatus | undefined {
    return this.drs.get(`${projectId}/${jobId.toLowerCase()}`);
  }

  cptsRunStatus(projectId: string, taskId: number): CptsRunStatus | undefined {
    this.settle();
    return this.cpts.get(`${projectId}/${taskId}`)?.runStatus;
  }

  // ---- fault injection ----

  /**
   * Scripts the answers to matching requests: each step is used once, in order (all of them
   * again and again with `repeat`); unmatched requests and exhausted scripts are handled normally.
   */
  script(match: FaultMatch, steps: Fault[], options: { repeat?: boolean } = {}): void {
    this.scripts.push({ match, steps: [...steps], repeat: options.repeat ?? false });
  }

  clearScripts(): void {
    this.scripts = [];
  }

  requestsTo(path: string | RegExp, method?: string): RecordedRequest[] {
    return this.requests.filter((r) => matchesPath(r.path, path) && (!method || r.method === method));
  }

  // ---- request handling ----

  private nextFault(method: string, path: string): Fault | undefined {
    for (const script of this.scripts) {
      if (script.match.method && script.match.method !== method) continue;
      if (script.match.path !== undefined && !matchesPath(path, script.match.path)) continue;
      const step = script.steps.shift();
      if (script.repeat && step) script.steps.push(step);
      if (script.steps.length === 0) this.scripts = this.scripts.filter((s) => s !== script);
      return step;
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight += 1;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    res.on('close', () => {
      this.inFlight -= 1;
    });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    this.received.set(req, bytes);
    const raw = bytes.toString('utf8');
    let body: unknown;
    let bodyIsJson = true;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
        bodyIsJson = false;
      }
    }
    const url = new URL(req.url ?? '/', 'http://simulator');
    const method = req.method ?? 'GET';
    this.requests.push({
      method,
      path: url.pathname + url.search,
      headers: req.headers,
      body,
      at: this.now(),
    });

    const fault = this.nextFault(method, url.pathname);
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    if (fault?.kind === 'latency') await sleep(fault.ms);
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if (fault?.kind === 'non-json') {
      res.writeHead(fault.status ?? 502, { 'content-type': 'text/html' });
      res.end(fault.body ?? '<html><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    }
    if (fault?.kind === 'respond') {
      send(res, fault.status, fault.body, fault.headers);
      return;
    }
    if (fault?.kind === 'expire-token') {
      const token = header(req, 'x-auth-token');
      if (token) this.tokens.delete(token);
    }
    const partial = fault?.kind === 'partial' ? fault : undefined;

    try {
      this.settle();
      const answer = this.route(method, url.pathname, req, body, bodyIsJson, partial);
      if (fault?.kind === 'lost') {
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return;
      }
      send(res, answer.status, answer.body, answer.headers);
    } catch (error) {
      send(res, 500, { error_code: 'SIM.500', error_msg: String(error) });
    }
  }

  private route(
    method: string,
    path: string,
    req: IncomingMessage,
    body: unknown,
    bodyIsJson: boolean,
    partial: Extract<Fault, { kind: 'partial' }> | undefined,
  ): Answer {
    if (method === 'POST' && path === '/v3/auth/tokens') return this.iamToken(req, body);
    const routes: [string, RegExp, (params: string[]) => Answer][] = [
      [
        'PUT',
        /^\/v2\/([^/]+)\/tasks\/([^/]+)\/action\/([^/]+)$/,
        ([p, id, c]) => this.viasAction(p!, id!, c!, body),
      ],
      ['GET', /^\/v2\/([^/]+)\/tasks\/([^/]+)$/, ([p, id]) => this.viasStatus(p!, id!)],
      [
        'PUT',
        /^\/v2\/([^/]+)\/batch-tasks\/([^/]+)\/action\/([^/]+)$/,
        ([p, id, c]) => this.viasBatchAction(p!, id!, c!, body, partial),
      ],
      ['POST', /^\/v3\/([^/]+)\/jobs\/batch-pause-task$/, ([p]) => this.drsBatch(p!, 'pause', body, partial)],
      [
        'POST',
        /^\/v3\/([^/]+)\/jobs\/batch-retry-task$/,
        ([p]) => this.drsBatch(p!, 'resume', body, partial),
      ],
      ['POST', /^\/v3\/([^/]+)\/jobs\/batch-status$/, ([p]) => this.drsStatusQuery(p!, body)],
      ['POST', /^\/v5\/([^/]+)\/jobs\/([^/]+)\/stop$/, ([p, id]) => this.drsStop(p!, id!, body)],
      [
        'POST',
        /^\/v1\/([^/]+)\/test-suites\/([^/]+)\/tasks\/([^/]+)$/,
        ([p, s, t]) => this.cptsUpdate(p!, s!, t!, body),
      ],
      ['GET', /^\/v1\/([^/]+)\/tasks\/([^/]+)$/, ([p, t]) => this.cptsStatus(p!, t!)],
    ];
    for (const [routeMethod, pattern, handle] of routes) {
      const match = pattern.exec(path);
      if (!match || routeMethod !== method) continue;
      const params = match.slice(1).map(decodeURIComponent);
      const denied = this.checkToken(req, params[0]!);
      if (denied) return denied;
      if (body !== undefined || method === 'POST') {
        if (!(header(req, 'content-type') ?? '').startsWith('application/json')) {
          return {
            status: 400,
            body: { error_code: 'APIGW.0101', error_msg: 'Content-Type must be application/json' },
          };
        }
        if (!bodyIsJson)
          return { status: 400, body: { error_code: 'APIGW.0102', error_msg: 'the body is not JSON' } };
      }
      return handle(params);
    }
    return notFound(path);
  }

  private viasStatus(projectId: string, taskId: string): Answer {
    const state = this.vias.get(`${projectId}/${taskId}`);
    return state ? { status: 200, body: { id: taskId, state } } : viasNotFound(taskId);
  }

  private cptsStatus(projectId: string, taskId: string): Answer {
    const task = this.cpts.get(`${projectId}/${taskId}`);
    if (!task) return { status: 200, body: { code: 'SVCSTG.CPTS.4032002', message: 'task not found' } };
    return {
      status: 200,
      body: {
        code: CPTS_OK,
        message: 'success',
        taskInfo: { id: Number(taskId), run_status: task.runStatus },
      },
    };
  }

  private checkToken(req: IncomingMessage, projectId: string): Answer | undefined {
    if (SimulatedAccessKeys.isSigned(req.headers)) {
      const { method = 'GET', url = '/', headers } = req;
      return this.accessKeys.verify(
        { method, target: url, headers, body: this.received.get(req) ?? Buffer.alloc(0) },
        projectId,
      );
    }
    const token = header(req, 'x-auth-token');
    if (!token) return unauthorized('Incorrect IAM authentication information: x-auth-token not found');
    if (!this.tokens.has(token)) this.lookUpCredentials?.();
    const info = this.tokens.get(token);
    if (!info || info.expiresAtMs <= this.now())
      return unauthorized('Incorrect IAM authentication information: token expires');
    if (info.projectId !== projectId)
      return unauthorized('Incorrect IAM authentication information: token is scoped to another project');
    return undefined;
  }

  private iamToken(req: IncomingMessage, body: unknown): Answer {
    if (!(header(req, 'content-type') ?? '').startsWith('application/json')) {
      return {
        status: 400,
        body: {
          error: { code: 400, message: 'Content-Type must be application/json', title: 'Bad Request' },
        },
      };
    }
    const methods = dig(body, 'auth', 'identity', 'methods');
    const user = dig(body, 'auth', 'identity', 'password', 'user');
    const [name, password, domain] = [dig(user, 'name'), dig(user, 'password'), dig(user, 'domain', 'name')];
    const projectId = dig(body, 'auth', 'scope', 'project', 'id');
    if (
      !Array.isArray(methods) ||
      methods[0] !== 'password' ||
      typeof name !== 'string' ||
      typeof password !== 'string' ||
      typeof domain !== 'string' ||
      typeof projectId !== 'string'
    ) {
      return {
        status: 400,
        body: { error: { code: 400, message: 'The request body is invalid.', title: 'Bad Request' } },
      };
    }
    const find = () =>
      this.users.find((u) => u.domain === domain && u.user === name && u.password === password);
    if (!find()) this.lookUpCredentials?.();
    const known = find();
    if (!known)
      return {
        status: 401,
        body: { error: { code: 401, message: 'The username or password is wrong.', title: 'Unauthorized' } },
      };
    // Real tokens are several KB.
    const token = `MIIsim${randomBytes(1536).toString('base64url')}`;
    const expiresAtMs = this.now() + this.tokenTtlMs;
    this.tokens.set(token, { projectId, expiresAtMs });
    return {
      status: 201,
      headers: { 'x-subject-token': token },
      body: {
        token: {
          expires_at: new Date(expiresAtMs).toISOString(),
          issued_at: new Date(this.now()).toISOString(),
          methods: ['password'],
          project: { id: projectId },
          user: { name: known.user, domain: { name: known.domain } },
        },
      },
    };
  }

  private viasAction(projectId: string, taskId: string, command: string, body: unknown): Answer {
    if (body !== undefined) return viasError(400, 'VIAS.400001', 'SIM: this call takes no body');
    if (command !== 'start' && command !== 'stop')
      return viasError(400, 'VIAS.400002', `SIM: unknown command ${command}`);
    const key = `${projectId}/${taskId}`;
    const state = this.vias.get(key);
    if (!state) return viasNotFound(taskId);
    if (command === 'start' && (state === 'RUNNING' || state === 'STARTING'))
      return viasError(400, 'VIAS.400101', 'SIM: the task is already running');
    if (command === 'stop' && state !== 'RUNNING')
      return viasError(400, 'VIAS.400102', 'SIM: the task is not running');
    const settled: ViasState = command === 'start' ? 'RUNNING' : 'STOPPED';
    if (this.settleMs > 0) {
      this.vias.set(key, command === 'start' ? 'STARTING' : 'STOPPING');
      this.settling.set(`vias/${key}`, { to: settled, at: this.now() + this.settleMs });
    } else this.vias.set(key, settled);
    return { status: 200, body: { id: taskId, status_code: 200, status_msg: 'success' } };
  }

  private viasBatchAction(
    projectId: string,
    id: string,
    command: string,
    body: unknown,
    partial: Extract<Fault, { kind: 'partial' }> | undefined,
  ): Answer {
    if (body !== undefined) return viasError(400, 'VIAS.400001', 'SIM: this call takes no body');
    if (command !== 'start' && command !== 'stop')
      return viasError(400, 'VIAS.400002', `SIM: unknown command ${command}`);
    const batch = this.viasBatches.get(`${projectId}/${id}`);
    if (!batch) return viasNotFound(id);
    const failed = Math.min(partial?.failedCount ?? 0, batch.subtasks);
    batch.running = command === 'start';
    return {
      status: 200,
      body: {
        id,
        total_count: batch.subtasks,
        succeed_count: batch.subtasks - failed,
        failed_count: failed,
        error_list: Array.from({ length: failed }, (_, i) => `SIM: subtask ${i + 1} failed to ${command}`),
      },
    };
  }

  private drsBatch(
    projectId: string,
    action: 'pause' | 'resume',
    body: unknown,
    partial: Extract<Fault, { kind: 'partial' }> | undefined,
  ): Answer {
    const jobs = (body as { jobs?: unknown } | undefined)?.jobs;
    if (!Array.isArray(jobs) || jobs.length === 0)
      return drsError('DRS.10000001', 'jobs must be a non-empty array');
    if (jobs.length > 10) return drsError('DRS.10000002', 'SIM: at most 10 jobs per batch');
    for (const job of jobs as Record<string, unknown>[]) {
      if (
        typeof job !== 'object' ||
        job === null ||
        typeof job.job_id !== 'string' ||
        !DRS_JOB_ID.test(job.job_id)
      ) {
        return drsError('DRS.10000003', 'The value of job_id must comply with the UUID rule.');
      }
      const allowed = action === 'pause' ? ['job_id', 'pause_mode'] : ['job_id'];
      if (Object.keys(job).some((k) => !allowed.includes(k)))
        return drsError('DRS.10000004', `SIM: unexpected field in ${action} job`);
      if (action === 'pause' && job.pause_mode !== 'target' && job.pause_mode !== 'all') {
        return drsError('DRS.10000005', 'pause_mode must be target or all');
      }
    }
    const results = (jobs as { job_id: string }[]).map(({ job_id }) => {
      const key = `${projectId}/${job_id.toLowerCase()}`;
      const status = this.drs.get(key);
      if (partial?.jobIds?.includes(job_id)) {
        return {
          id: job_id,
          status: 'failed',
          error_code: 'DRS.10020001',
          error_msg: 'SIM: injected failure',
        };
      }
      if (!status)
        return {
          id: job_id,
          status: 'failed',
          error_code: 'DRS.10000010',
          error_msg: 'Job does not exist, please check job id.',
        };
      const from: DrsStatus = action === 'pause' ? 'INCRE_TRANSFER_STARTED' : 'PAUSING';
      if (status !== from) {
        return {
          id: job_id,
          status: 'failed',
          error_code: 'DRS.10020005',
          error_msg: `SIM: the job is ${status}; ${action} needs ${from}`,
        };
      }
      this.drs.set(key, action === 'pause' ? 'PAUSING' : 'INCRE_TRANSFER_STARTED');
      return { id: job_id, status: 'success' };
    });
    return { status: 200, body: { results, count: results.length } };
  }

  private drsStatusQuery(projectId: string, body: unknown): Answer {
    const jobs = (body as { jobs?: unknown } | undefined)?.jobs;
    if (!Array.isArray(jobs) || jobs.some((j) => typeof j !== 'string'))
      return drsError('DRS.10000001', 'jobs must be an array of ids');
    const results = (jobs as string[]).map((id) => {
      const status = this.drs.get(`${projectId}/${id.toLowerCase()}`);
      return status
        ? { id, status }
        : {
            id,
            status: 'failed',
            error_code: 'DRS.10000010',
            error_msg: 'Job does not exist, please check job id.',
          };
    });
    return { status: 200, body: { results, count: results.length } };
  }

  private drsStop(projectId: string, jobId: string, body: unknown): Answer {
    const force = (body as { is_force_stop?: unknown } | undefined)?.is_force_stop;
    if (
      body !== undefined &&
      (typeof body !== 'object' || (force !== undefined && typeof force !== 'boolean'))
    ) {
      return drsError('DRS.10000001', 'is_force_stop must be a boolean');
    }
    const key = `${projectId}/${jobId.toLowerCase()}`;
    const status = this.drs.get(key);
    if (!status) return drsError('DRS.10000010', 'Job does not exist, please check job id.');
    if (status === 'RELEASE_RESOURCE_COMPLETE')
      return drsError('DRS.10020010', 'SIM: the job has already ended');
    this.drs.set(key, 'RELEASE_RESOURCE_COMPLETE');
    return { status: 200, body: { id: jobId, name: `job-${jobId.slice(0, 8)}`, status: 'success' } };
  }

  private cptsUpdate(projectId: string, suiteText: string, taskText: string, body: unknown): Answer {
    const b = (body ?? {}) as Record<string, unknown>;
    const isInt = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min;
    const allowed = [
      'cluster_id',
      'cluster_type',
      'without_package',
      'network_info',
      'status',
      'enterprise_project_id',
    ];
    const problem =
      !/^\d+$/.test(suiteText) || !/^\d+$/.test(taskText)
        ? 'test_suite_id and task_id must be integers'
        : !isInt(b.cluster_id, -1)
          ? 'cluster_id must be an integer >= -1'
          : b.cluster_type !== 'shared-cluster-internet' && b.cluster_type !== 'private-cluster'
            ? 'cluster_type must be shared-cluster-internet or private-cluster'
            : b.without_package !== 0
              ? 'without_package must be 0'
              : dig(b, 'network_info', 'network_type') !== 'internet'
                ? 'network_info.network_type must be internet'
                : b.status !== 9 && b.status !== 2
                  ? 'status must be 9 or 2'
                  : b.enterprise_project_id !== undefined && typeof b.enterprise_project_id !== 'string'
                    ? 'enterprise_project_id must be a string'
                    : Object.keys(b).find((k) => !allowed.includes(k))
                      ? 'unexpected field'
                      : undefined;
    if (problem)
      return { status: 400, body: { error_code: 'SVCSTG.CPTS.4001001', error_msg: `SIM: ${problem}` } };
    const task = this.cpts.get(`${projectId}/${taskText}`);
    if (!task || task.suiteId !== Number(suiteText)) {
      return { status: 200, body: { code: 'SVCSTG.CPTS.4032002', message: 'task not found', extend: null } };
    }
    if (b.status === 9) {
      if (task.runStatus === 0 || task.runStatus === 9) {
        return {
          status: 200,
          body: { code: 'SVCSTG.CPTS.4032010', message: 'SIM: the task is already running', extend: null },
        };
      }
      task.runs += 1;
      if (this.settleMs > 0) {
        task.runStatus = 9;
        this.settling.set(`cpts/${projectId}/${taskText}`, { to: 0, at: this.now() + this.settleMs });
      } else task.runStatus = 0;
      return {
        status: 200,
        body: { code: CPTS_OK, message: 'success', extend: null, result: { task_run_id: this.nextRunId++ } },
      };
    }
    this.settling.delete(`cpts/${projectId}/${taskText}`);
    task.runStatus = 2;
    return {
      status: 200,
      body: { code: CPTS_OK, message: 'success', extend: null, result: { task_run_id: this.nextRunId - 1 } },
    };
  }
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const unauthorized = (message: string): Answer => ({
  status: 401,
  body: { error_code: 'APIGW.0301', error_msg: message },
});
const notFound = (path: string): Answer => ({
  status: 404,
  body: { error_code: 'APIGW.0101', error_msg: `The API does not exist or has not been published: ${path}` },
});
const viasError = (status: number, code: string, message: string): Answer => ({
  status,
  body: { error_code: code, error_msg: message, detail: message, params: [], reason: message, advice: 'SIM' },
});
const viasNotFound = (id: string) => viasError(400, 'VIAS.400404', `SIM: task ${id} does not exist`);
const drsError = (code: string, message: string): Answer => ({
  status: 400,
  body: { error_code: code, error_msg: message },
});

const matchesPath = (path: string, pattern: string | RegExp): boolean =>
  typeof pattern === 'string' ? path.includes(pattern) : pattern.test(path);

/** Reads a nested field of an unknown JSON value. */
function dig(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const key of keys) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
