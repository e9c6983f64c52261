import { paginateScan } from '@aws-sdk/lib-dynamodb';
import type { RedTeamCloud } from './cloud';

const LIVE = new Set(['queued', 'running']);

/**
 * Waits for many commands at once with one scan of the commands table per round (statuses are plain
 * attributes), instead of every attempt polling the API: the run measures the kernel, not the poller.
 */
export class CommandWatch {
  private readonly waiting = new Map<string, { resolve: (status: string | undefined) => void; deadline: number }>();
  private timer: NodeJS.Timeout | undefined;
  private scanning = false;

  /**
   * @param stalled true for a command that will not move any more although its status says it is live (a
   *   message of it was refused and nothing happened since): waiting longer would only measure the timeout.
   */
  constructor(
    private readonly rt: RedTeamCloud,
    private readonly stalled: (commandId: string) => boolean = () => false,
    private readonly everyMs = 250,
  ) {}

  /** The command's status once it is neither queued nor running (or stalled); undefined when `timeoutMs` passes first. */
  settled(commandId: string, timeoutMs = 25_000): Promise<string | undefined> {
    return new Promise((resolve) => {
      this.waiting.set(commandId, { resolve, deadline: Date.now() + timeoutMs });
      this.timer ??= setInterval(() => void this.round(), this.everyMs);
    });
  }

  private async round(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      const statuses = new Map<string, string>();
      const pages = paginateScan(
        { client: this.rt.doc },
        { TableName: this.rt.state.tables.commands, ProjectionExpression: 'commandId, #s', ExpressionAttributeNames: { '#s': 'status' }, ConsistentRead: true },
      );
      for await (const page of pages) for (const item of page.Items ?? []) statuses.set(String(item.commandId), String(item.status));
      const now = Date.now();
      for (const [id, w] of this.waiting) {
        const status = statuses.get(id);
        if (status !== undefined && (!LIVE.has(status) || this.stalled(id))) w.resolve(status);
        else if (now > w.deadline) w.resolve(undefined);
        else continue;
        this.waiting.delete(id);
      }
    } catch {
      // A failed scan is retried next round; only the deadline ends a wait.
    } finally {
      this.scanning = false;
      if (this.waiting.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    }
  }
}
