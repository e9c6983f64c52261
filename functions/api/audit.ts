import { AuditSources, AuditVerification, verifyAudit } from '../kernel/ledger/verify-audit';
import { ConsistencyProof, InclusionProof, entryLeaf, proveConsistency, proveInclusion, treeHeadNoteOf } from '../kernel/ledger/log-tree';
import { rootOf } from '../kernel/ledger/merkle';
import { openTreeHead } from '../kernel/ledger/tree-head';
import { isSecurityError } from '../kernel/errors';
import { CheckpointSignatures, CheckpointOutcome } from '../kernel/ledger/checkpoints';
import { LedgerEntry } from '../kernel/ledger/entry';
import { LedgerReader } from '../kernel/ledger/ledger';
import { SignerClient } from '../signer/signer-client';
import { Caller } from './caller';
import { ApiError } from './errors';
import { AuditQuery, ConsistencyQuery, auditQuerySchema, checkpointRequestSchema, consistencyQuerySchema, entrySeqSchema, parseRequest } from './schemas';

/** What `GET /v1/audit/verify` answers (the shape of `agentsec audit verify --json`, DESIGN §10). */
export type { AuditVerification };

export interface AuditServiceProps {
  readonly reader: Pick<LedgerReader, 'since' | 'readAll' | 'chain'>;
  /** The chain's checkpoint anchor, which bounds truncation. */
  readonly anchors: AuditSources['anchors'];
  /** The authority's public key, as a checkpoint verifier (fetched once per process). */
  readonly signatures: () => Promise<CheckpointSignatures>;
  /** Signs a checkpoint on demand. */
  readonly signer: Pick<SignerClient, 'checkpoint'>;
}

/**
 * Who may read the ledger: auditors (TOP_SECRET clearance) and approvers. The ledger holds digests and
 * metadata only (DESIGN §7), but who did what when is itself worth keeping from everyone else.
 */
export function mayAudit(caller: Caller): boolean {
  return caller.clearance.level === 'TOP_SECRET' || caller.isApprover;
}

/** `GET /v1/audit`, `GET /v1/audit/verify`, `GET /v1/audit/proofs/{seq}`, `GET /v1/audit/consistency` and `POST /v1/audit/checkpoints`. */
export class AuditService {
  constructor(private readonly props: AuditServiceProps) {}

  /** Entries after `since`, oldest first, at most `limit`; page on with `since` = the last entry's `seq`. */
  async list(caller: Caller, query: unknown): Promise<LedgerEntry[]> {
    const { since, limit }: AuditQuery = parseRequest(auditQuerySchema, query ?? {}, 'audit query');
    this.assertMayAudit(caller);
    const entries = await this.props.reader.since(since);
    return entries.slice(0, limit);
  }

  /** Recomputes the chain, its checkpoint signatures and its anchor (DESIGN §7); names the first bad entry. */
  async verify(caller: Caller): Promise<AuditVerification> {
    this.assertMayAudit(caller);
    const { reader, anchors } = this.props;
    return verifyAudit({ reader, anchors, signatures: await this.props.signatures() });
  }

  /**
   * The inclusion proof of entry `seq` under the latest signed tree head that covers it (DESIGN §7), which anyone can
   * check offline with the verifier key (`agentsec audit check-proof`). 404 for an entry the ledger does not hold,
   * 409 while no verified head covers it yet (`POST /v1/audit/checkpoints` signs one now).
   */
  async prove(caller: Caller, seqParam: string): Promise<InclusionProof> {
    const seq = parseRequest(entrySeqSchema, seqParam, 'entry sequence number');
    this.assertMayAudit(caller);
    const { entries, heads, vkey } = await this.signedHeads();
    if (entries[seq - 1]?.seq !== seq) throw ApiError.notFound(`ledger entry ${seq}`);
    const head = heads.find((h) => h.size >= seq);
    if (!head) {
      throw ApiError.conflict(`ledger entry ${seq} is not yet covered by a signed tree head: have the signer checkpoint the ledger (POST /v1/audit/checkpoints)`);
    }
    return proveInclusion(entries, seq, head.size, head.note, vkey);
  }

  /**
   * The consistency proof between the signed tree heads of `from` and `to` entries (DESIGN §7): what a witness checks,
   * with the verifier key alone, to know the log only grew (`agentsec audit check-consistency`). 404 when no verified
   * signed head has one of those sizes.
   */
  async consistency(caller: Caller, query: unknown): Promise<ConsistencyProof> {
    const { from, to }: ConsistencyQuery = parseRequest(consistencyQuerySchema, query ?? {}, 'consistency query');
    this.assertMayAudit(caller);
    const { entries, heads, vkey } = await this.signedHeads();
    const head = (size: number) => {
      const found = heads.find((h) => h.size === size);
      if (!found) throw ApiError.notFound(`a signed tree head of ${size} entries`);
      return found;
    };
    const [a, b] = [head(from), head(to)];
    return proveConsistency(entries, a.size, a.note, b.size, b.note, vkey);
  }

  /**
   * The ledger and its signed tree heads that still match it, latest first. A head that does not verify or no longer
   * matches the entries proves nothing; naming it is `audit verify`'s job.
   */
  private async signedHeads(): Promise<{ entries: LedgerEntry[]; heads: Array<{ size: number; note: string }>; vkey: string }> {
    const { reader } = this.props;
    const entries = await reader.readAll();
    const vkey = (await this.props.signatures()).verifierKey(reader.chain);
    const leaves = entries.map(entryLeaf);
    const heads: Array<{ size: number; note: string }> = [];
    for (const carrier of [...entries].reverse()) {
      if (carrier.type !== 'checkpoint') continue;
      const note = treeHeadNoteOf(carrier);
      if (note === undefined) continue;
      try {
        const head = openTreeHead(note, vkey);
        if (head.size < carrier.seq && rootOf(leaves.slice(0, head.size)).equals(head.rootHash)) heads.push({ size: head.size, note });
      } catch (err) {
        if (!isSecurityError(err, 'TAMPERED')) throw err;
      }
    }
    return { entries, heads, vkey };
  }

  /** Asks the signer to checkpoint the ledger now, whether or not one is due. */
  async checkpoint(caller: Caller, body: unknown): Promise<CheckpointOutcome> {
    parseRequest(checkpointRequestSchema, body, 'checkpoint request');
    this.assertMayAudit(caller);
    return this.props.signer.checkpoint(true);
  }

  private assertMayAudit(caller: Caller): void {
    if (!mayAudit(caller)) throw ApiError.forbidden('the audit log is for auditors (TOP_SECRET) and approvers');
  }
}
