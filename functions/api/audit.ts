import { CheckpointVerifier, LedgerEntry, LedgerReader, verifyChain } from '../kernel/ledger';
import { Caller } from './caller';
import { ApiError } from './errors';
import { AuditQuery, auditQuerySchema, parseRequest } from './schemas';

/** What `GET /v1/audit/verify` answers (the shape of `agentsec audit verify --json`, DESIGN §10). */
export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** `checkpoint` entries in the chain. */
  checkpoints: number;
  firstBadSeq: number | null;
  /** What is wrong at `firstBadSeq`, when something is. */
  reason?: string;
}

export interface AuditServiceProps {
  readonly reader: Pick<LedgerReader, 'since' | 'readAll'>;
  /** Verifies signed checkpoints with the authority key. @default checkpoints are checked as ordinary entries */
  readonly verifyCheckpoint?: CheckpointVerifier;
}

/**
 * Who may read the ledger: auditors (TOP_SECRET clearance) and approvers. The ledger holds digests and
 * metadata only (DESIGN §7), but who did what when is itself worth keeping from everyone else.
 */
export function mayAudit(caller: Caller): boolean {
  return caller.clearance.level === 'TOP_SECRET' || caller.isApprover;
}

/** `GET /v1/audit` and `GET /v1/audit/verify`. */
export class AuditService {
  constructor(private readonly props: AuditServiceProps) {}

  /** Entries after `since`, oldest first, at most `limit`; page on with `since` = the last entry's `seq`. */
  async list(caller: Caller, query: unknown): Promise<LedgerEntry[]> {
    const { since, limit }: AuditQuery = parseRequest(auditQuerySchema, query ?? {}, 'audit query');
    this.assertMayAudit(caller);
    const entries = await this.props.reader.since(since);
    return entries.slice(0, limit);
  }

  /** Recomputes the whole chain and its checkpoint signatures; names the first bad entry. */
  async verify(caller: Caller): Promise<AuditVerification> {
    this.assertMayAudit(caller);
    const entries = await this.props.reader.readAll();
    const result = verifyChain(entries, this.props.verifyCheckpoint ? { verifyCheckpoint: this.props.verifyCheckpoint } : {});
    return {
      ok: result.ok,
      entries: result.entries,
      checkpoints: entries.filter((e) => e.type === 'checkpoint').length,
      firstBadSeq: result.firstBadSeq,
      ...(result.reason ? { reason: result.reason } : {}),
    };
  }

  private assertMayAudit(caller: Caller): void {
    if (!mayAudit(caller)) throw ApiError.forbidden('the audit log is for auditors (TOP_SECRET) and approvers');
  }
}
