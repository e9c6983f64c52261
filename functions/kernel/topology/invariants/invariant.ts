import type * as z from 'zod';
import type { TopologyOutput } from '../shape';

/** One cross-reference check of a parsed topology: it adds a zod issue per violation and never throws. */
export type TopologyInvariant = (parsed: TopologyOutput, ctx: z.RefinementCtx<TopologyOutput>) => void;

/** Reports one violation at `path` (rendered as a JSON path by parseTopology). */
export function violation(ctx: z.RefinementCtx<TopologyOutput>, path: (string | number)[], message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}
