/** How the CLI shows things to a person: ledger entries as one line each, and aligned tables. */

/** A ledger entry as the API returns it (functions/kernel/ledger/entry.ts); read loosely, it is only shown. */
export interface EntryView {
  seq: number;
  at?: string;
  type: string;
  actor: string;
  commandId?: string | null;
  reason?: string | null;
  directiveId?: string | null;
  detail?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The first 8 characters of an id: enough to tell ids apart on a screen. */
export const short = (id: unknown): string => (typeof id === 'string' ? id.slice(0, 8) : '');

/** What one ledger entry says, in a short sentence-like line. */
export function describeEntry(e: EntryView): string {
  const d = e.detail ?? {};
  const parts: string[] = [];
  switch (e.type) {
    case 'command.accepted':
      parts.push(`accepted the command of ${String(d.principal ?? '?')} at ${String(d.label ?? '?')}`);
      break;
    case 'message.sent':
      parts.push(`→ ${String(d.to ?? '?')}: ${String(d.kind ?? 'message')} at ${String(d.label ?? '?')}`);
      break;
    case 'message.rejected':
      parts.push('rejected a message');
      break;
    case 'command.completed':
      parts.push(`completed the command; the answer is labelled ${String(d.label ?? '?')}`);
      break;
    case 'egress.denied':
      parts.push(`was refused the ${String(d.endpoint ?? '?')} model endpoint`);
      break;
    case 'tool.executed':
      parts.push(`ran ${String(d.tool ?? 'a tool')}${d.duplicate ? ' (duplicate delivery, no new effect)' : ''}`);
      break;
    case 'tool.denied':
      parts.push(`was refused ${d.tool ? String(d.tool) : 'a tool it does not own'}`);
      break;
    case 'directive.requested':
      parts.push(`holds ${String(d.kind ?? '')} request ${short(d.requestId)}${d.tool ? ` for ${String(d.tool)}` : ''}: needs ${String(d.approvalsNeeded ?? '?')} approval(s)`);
      break;
    case 'directive.signed':
      parts.push(`signed a ${String(d.kind ?? '')} directive${d.tool ? ` for ${String(d.tool)}` : ''}${d.target ? ` (target ${String(d.target)})` : ''}`);
      break;
    case 'directive.denied':
      parts.push(
        d.vote || d.passkey
          ? `refused ${d.passkey && !d.vote ? 'a passkey registration' : `a vote${d.approver ? ` by ${String(d.approver)}` : ''}`}${d.refused ? ` (${String(d.refused)})` : ''}`
          : `denied a ${String(d.kind ?? '')} directive${d.tool ? ` for ${String(d.tool)}` : ''}${d.rejected ? ' (rejected by an approver)' : ''}`,
      );
      break;
    case 'approval.recorded':
      parts.push(`recorded ${String(d.decision ?? 'a vote')} on request ${short(d.requestId)}${d.tool ? ` (${String(d.tool)})` : ''}${d.passkey ? ', signed with a passkey' : ''}`);
      break;
    case 'passkey.registered':
      parts.push(`registered a passkey for ${String(d.username ?? '?')}`);
      break;
    case 'checkpoint':
      parts.push(`signed a checkpoint over seq ${String(d.seq ?? '?')}`);
      break;
    case 'declassified':
      parts.push(`declassified a task for ${String(d.to ?? '?')} to ${String(d.label ?? '?')}`);
      break;
    default:
      parts.push(e.type);
  }
  if (e.reason) parts.push(`[${e.reason}]`);
  if (e.directiveId) parts.push(`directive ${short(e.directiveId)}`);
  return `${e.actor} ${parts.join(' ')}`;
}

/** Rows as aligned columns under a header. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
