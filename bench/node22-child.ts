/**
 * Runs one bundle in a fresh Node 22 process (bench/child/invoke-bundle.mjs) and reads back what it measured. The
 * child gets a Lambda-like environment: the given variables, PATH, and the variables Lambda itself sets for a
 * function; nothing else of the parent's environment.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const INVOKE_BUNDLE_SCRIPT = fileURLToPath(new URL('./child/invoke-bundle.mjs', import.meta.url));

/** The function timeout the children's contexts count down from. */
export const BENCH_TIMEOUT_MS = 30_000;
/** A child still running after this long is killed: a hung invocation must not hang the benchmark. */
const CHILD_DEADLINE_MS = 120_000;

export interface ChildSpec {
  /** The bundle's entry file. */
  entry: string;
  functionName: string;
  /** The function's memory size (infra/function-memory.ts), as Lambda reports it to the function. */
  memoryMb: number;
  first: unknown;
  warm?: unknown[];
  /** Run the warm events `blockSize` at a time, on WarmChild.next() (see invoke-bundle.mjs). */
  blockSize?: number;
}

export interface WarmBlock {
  warmMs: number[];
  /** CPU time (user + system) of each warm invocation. */
  warmCpuMs: number[];
}

export interface ChildResult extends WarmBlock {
  startupMs: number;
  importMs: number;
  firstInvokeMs: number;
  maxRssMb: number;
  finalMaxRssMb: number;
}

type Answers = {
  benchReady: { importMs: number; firstInvokeMs: number };
  benchBlock: WarmBlock;
  benchResult: ChildResult;
};

/** A running child: its answers in order, or its failure (exit code and stderr) once it has ended. */
export class Node22Child {
  private readonly queue: Array<{ key: string; value: unknown }> = [];
  private waiting: (() => void) | undefined;
  private stdout = '';
  private stderr = '';
  private ended: Error | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly name: string,
    private readonly cleanup: () => void,
  ) {
    this.timer = setTimeout(() => child.kill('SIGKILL'), CHILD_DEADLINE_MS);
    child.stdout.on('data', (chunk: Buffer) => this.read(chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    child.on('error', (error) => this.end(error));
    this.exited = new Promise((resolve) =>
      child.on('close', (code) => {
        this.end(new Error(`${name} child exited (code ${code}):\n${tail(this.stderr)}`));
        resolve();
      }),
    );
  }

  static start(node: string, spec: ChildSpec, env: Record<string, string>): Node22Child {
    const dir = mkdtempSync(join(tmpdir(), 'fdl-bench-child-'));
    const specFile = join(dir, 'spec.json');
    writeFileSync(specFile, JSON.stringify({ timeoutMs: BENCH_TIMEOUT_MS, ...spec }));
    const child = spawn(node, [INVOKE_BUNDLE_SCRIPT, specFile], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...lambdaVariables(spec), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new Node22Child(child, spec.functionName, () => rmSync(dir, { recursive: true, force: true }));
  }

  /** The next answer, which must be `key`. */
  async answer<K extends keyof Answers>(key: K): Promise<Answers[K]> {
    for (;;) {
      const next = this.queue.shift();
      if (next) {
        if (next.key !== key) throw new Error(`${this.name} child answered ${next.key}, expected ${key}`);
        return next.value as Answers[K];
      }
      if (this.ended) throw this.ended;
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
  }

  /** Block mode: runs the next block of warm invocations. */
  next(): Promise<WarmBlock> {
    this.child.stdin.write('next\n');
    return this.answer('benchBlock');
  }

  /** Ends the run (stdin closed: in block mode, no more blocks), waits for the process to exit, returns its result. */
  async finish(): Promise<ChildResult> {
    this.child.stdin.end();
    const result = await this.answer('benchResult');
    await this.exited;
    return result;
  }

  /** Ends the child if it is still running (after a failure elsewhere); a no-op once it has ended. */
  kill(): void {
    if (!this.ended) this.child.kill('SIGKILL');
  }

  private read(text: string): void {
    this.stdout += text;
    const lines = this.stdout.split('\n');
    this.stdout = lines.pop() ?? '';
    for (const line of lines) {
      const match = /^\{"(benchReady|benchBlock|benchResult)":/.exec(line);
      if (match?.[1])
        this.queue.push({ key: match[1], value: (JSON.parse(line) as Record<string, unknown>)[match[1]] });
    }
    this.wake();
  }

  private end(error: Error): void {
    clearTimeout(this.timer);
    this.ended ??= error;
    this.cleanup();
    this.wake();
  }

  private wake(): void {
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.();
  }
}

/** Runs a child through all its events at once and returns what it measured. */
export function runChild(node: string, spec: ChildSpec, env: Record<string, string>): Promise<ChildResult> {
  return Node22Child.start(node, spec, env).finish();
}

/** The variables Lambda's Node.js runtime sets that libraries (the AWS SDK, Powertools) read. */
function lambdaVariables(spec: ChildSpec): Record<string, string> {
  return {
    AWS_LAMBDA_FUNCTION_NAME: spec.functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
  };
}

function tail(text: string, lines = 30): string {
  return text.split('\n').slice(-lines).join('\n');
}
