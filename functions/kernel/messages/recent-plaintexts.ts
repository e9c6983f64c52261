import { createHash } from 'node:crypto';

/**
 * Plaintexts this function sealed for itself or opened as their addressee in the last seconds, by the digest of
 * the exact ciphertext and its exact encryption context. Reopening such a ciphertext (core rereads its plan and
 * the results it received when it composes) then needs no KMS call: the function already proved, through KMS
 * and IAM, that it may read these bytes under this context. A changed byte or context field is a miss, and the
 * full check runs. Bounded in age and count, and held only in the memory of the function that read them.
 */
export interface RecentPlaintextsOptions {
  /** @default 60_000 */
  readonly maxAgeMs?: number;
  /** @default 256 */
  readonly maxEntries?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Entry {
  readonly context: string;
  readonly plaintext: Buffer;
  readonly expires: number;
}

export class RecentPlaintexts {
  private readonly entries = new Map<string, Entry>();
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: RecentPlaintextsOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
    this.maxEntries = options.maxEntries ?? 256;
    this.now = options.now ?? Date.now;
  }

  remember(ciphertext: string, context: Readonly<Record<string, string>>, plaintext: Uint8Array): void {
    const key = digest(ciphertext);
    this.entries.delete(key);
    this.entries.set(key, { context: contextKey(context), plaintext: Buffer.from(plaintext), expires: this.now() + this.maxAgeMs });
    // Oldest first in insertion order: drop what exceeds the bound.
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
  }

  /** A copy of the plaintext, only for the same ciphertext under the same context and within its age. */
  recall(ciphertext: string, context: Readonly<Record<string, string>>): Buffer | undefined {
    const key = digest(ciphertext);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.context === contextKey(context) ? Buffer.from(entry.plaintext) : undefined;
  }

  get size(): number {
    return this.entries.size;
  }
}

function digest(ciphertext: string): string {
  return createHash('sha256').update(ciphertext).digest('hex');
}

/** The context as one string, keys sorted: equal strings mean exactly the same keys and values. */
function contextKey(context: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
