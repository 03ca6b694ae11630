/**
 * Wakes the local SQS event sources when a message is sent to their queue. local-aws-sqs answers a long poll only
 * when its wait runs out, even if a message arrived sooner (real SQS answers at once), so each hop of a job through
 * the queues lost up to the wait. Instead the event sources receive without waiting and, on an empty queue, sleep
 * until a send to their queue (told by the SQS gateways once the emulator accepted it) or a second has passed (what
 * a send does not announce: delayed messages coming due, redeliveries after the visibility timeout).
 */
export class QueueActivity {
  private readonly waiting = new Map<string, Set<() => void>>();

  /** A message was sent to the queue named `queueName`. */
  sent(queueName: string): void {
    const waiters = this.waiting.get(queueName);
    if (!waiters) return;
    this.waiting.delete(queueName);
    for (const wake of waiters) wake();
  }

  /** Resolves at the next send to `queueName`, after `maxMs`, or when `signal` aborts, whichever comes first. */
  wait(queueName: string, maxMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const waiters = this.waiting.get(queueName) ?? new Set<() => void>();
      this.waiting.set(queueName, waiters);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** The queue names an SQS JSON-protocol SendMessage / SendMessageBatch body sends to (none for anything else). */
  static queueOfSend(operation: string, body: Buffer): string | undefined {
    if (operation !== 'SendMessage' && operation !== 'SendMessageBatch') return undefined;
    try {
      const { QueueUrl } = JSON.parse(body.toString('utf8')) as { QueueUrl?: unknown };
      return typeof QueueUrl === 'string' ? QueueUrl.split('/').pop() : undefined;
    } catch {
      return undefined;
    }
  }
}
