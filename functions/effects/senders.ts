import { appendFile, mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { OutboxRecord } from '../kernel/tools/effects';

/**
 * Where a recorded effect goes out to the world: the email sent, the booking made, the prescription issued. The
 * effect gateway dispatches each record of the outbox once it is recorded (at least once: a sender must treat the
 * effect id as an idempotency key).
 */
export interface EffectSender {
  send(record: OutboxRecord): Promise<void>;
}

/** The local cloud's sender: one JSON line per dispatched effect, in a mailbox file people and tests can read. */
export class MailboxFileSender implements EffectSender {
  constructor(private readonly file: string) {}

  async send(record: OutboxRecord): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    const line = { effectId: record.effectId, tool: record.tool, agent: record.agent, commandId: record.commandId, payload: record.payload };
    await appendFile(this.file, `${JSON.stringify(line)}\n`, { mode: 0o600 });
  }
}

/** Keeps dispatched effects in memory (tests). */
export class MemorySender implements EffectSender {
  readonly sent: OutboxRecord[] = [];

  async send(record: OutboxRecord): Promise<void> {
    this.sent.push(record);
  }
}

/**
 * On AWS without a configured integration: each dispatch is one structured log line naming the effect (never its
 * payload), so an operator's subscription or metric filter picks it up; the outbox row keeps the payload.
 */
export class LogSender implements EffectSender {
  constructor(private readonly log: (message: string, fields: Record<string, unknown>) => void) {}

  async send(record: OutboxRecord): Promise<void> {
    this.log('effect dispatched', { effectId: record.effectId, tool: record.tool, agent: record.agent, commandId: record.commandId });
  }
}
