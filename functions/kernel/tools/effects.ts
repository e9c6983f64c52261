/** A side effect of a tool and where it came from. */
export interface SideEffect {
  readonly tool: string;
  readonly agent: string;
  readonly commandId: string;
  /** The message whose processing produced the effect: a redelivery of it carries the same id. */
  readonly messageId: string;
  /** The directive the effect ran under; absent for low-priority tools. */
  readonly directiveId?: string;
  /** What the tool did (the email sent, the appointment booked), or null when it did nothing. */
  readonly payload: Record<string, unknown> | null;
}

/** A side effect as recorded. */
export type OutboxRecord = SideEffect & { readonly effectId: string; readonly recordedAt: string };

/** Where the tool runtime writes each side effect once (DESIGN §4): the outbox store implements it. */
export interface EffectLog {
  /** Records `effect` under `effectId`; false, with nothing written, when that id is already recorded. */
  record(effectId: string, effect: SideEffect): Promise<boolean>;
  /** The record under `effectId`, read consistently. */
  get(effectId: string): Promise<OutboxRecord | undefined>;
}
