import type { SignedDirective } from '../directives/claims';

/** A side effect of a tool and where it came from. */
export interface SideEffect {
  readonly tool: string;
  readonly agent: string;
  readonly commandId: string;
  /** The message whose processing produced the effect: a redelivery of it carries the same id. */
  readonly messageId: string;
  /** The directive the effect ran under; absent for low-priority tools. */
  readonly directiveId?: string;
  /** The arguments the tool ran with: the directive binds their digest, and the payload must agree with them. */
  readonly args: Record<string, unknown>;
  /** The salt of the arguments' digest a directive binds (kept beside the arguments it digests, DESIGN §6). */
  readonly argsSalt?: string;
  /** What the tool did (the email sent, the appointment booked), or null when it did nothing. */
  readonly payload: Record<string, unknown> | null;
}

/** A side effect as recorded. */
export type OutboxRecord = SideEffect & { readonly effectId: string; readonly recordedAt: string; readonly dispatchedAt?: string };

/**
 * Where the tool runtime writes each side effect once (DESIGN §4, §5). An agent reaches it only through the effect
 * gateway, which checks the directive itself before the outbox store writes anything.
 */
export interface EffectLog {
  /**
   * Records `effect` under `effectId`, the directive's id for a high or critical tool (the directive is given so that
   * whoever writes can check it); false, with nothing written, when that id is already recorded.
   */
  record(effectId: string, effect: SideEffect, directive?: SignedDirective): Promise<boolean>;
  /** The record under `effectId`, read consistently. */
  get(effectId: string): Promise<OutboxRecord | undefined>;
}
