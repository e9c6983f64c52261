import { BatchWriteCommand, DeleteCommand } from '@aws-sdk/lib-dynamodb';
import embeddedTopology from '../../agentsec.config.json';
import { verifyAudit } from '../../functions/kernel/ledger/verify-audit';
import { CheckpointAnchors, anchorPartition } from '../../functions/kernel/ledger/checkpoint-anchor';
import { CheckpointSignatures } from '../../functions/kernel/ledger/checkpoints';
import { LedgerReader, LedgerWriter } from '../../functions/kernel/ledger/ledger';
import { Signer } from '../../functions/signer/signer';
import { TABLES } from '../../functions/kernel/tables';
import { Topology, parseTopology } from '../../functions/kernel/topology/topology';
import { countingKms } from './kms-calls';
import { unique } from './aws';
import { signerFixture } from '../signer/support';

/** The repository topology with another checkpoint interval. */
export function topologyCheckpointingEvery(every: number): Topology {
  return parseTopology({ ...embeddedTopology, runtime: { ...embeddedTopology.runtime, checkpointEvery: every } });
}

/**
 * Real tables and a real authority key on the emulator, one set per test file; `chain()` gives each test its own
 * chain in the one ledger table, with a signer that checkpoints every `every` entries, counting its KMS calls.
 */
export async function checkpointFixture() {
  const f = await signerFixture();
  const ledgerTable = { doc: f.doc, tableName: f.tables.ledger };
  const signatures = await CheckpointSignatures.forAuthority(f.kms, f.authorityKeyArn);

  function chain(every = 3) {
    const name = unique('chain');
    const location = { ...ledgerTable, chain: name };
    const ledger = new LedgerWriter(location);
    const kms = countingKms();
    /** A signer of this chain, as one more Lambda container would run it. */
    const makeSigner = (writer = new LedgerWriter(location)) =>
      new Signer({ topology: topologyCheckpointingEvery(every), kms: kms.client, authorityKeyArn: f.authorityKeyArn, doc: f.doc, tables: f.tables, ledger: writer, cipher: f.cipher });
    const signer = makeSigner(ledger);
    const reader = new LedgerReader(location);
    const anchors = new CheckpointAnchors(location);

    /** `n` ordinary entries, as agents append them. */
    async function append(n: number): Promise<void> {
      for (let i = 0; i < n; i++) await ledger.append({ type: 'message.sent', actor: 'core', detail: { to: 'analyst', i } });
    }

    /** Deletes every entry from `seq` on, as someone with DeleteItem on the table could. */
    async function deleteFrom(seq: number): Promise<void> {
      const doomed = (await reader.readAll()).filter((e) => e.seq >= seq);
      for (let i = 0; i < doomed.length; i += 25) {
        const batch = doomed.slice(i, i + 25).map((e) => ({ DeleteRequest: { Key: { chain: name, seq: e.seq } } }));
        await f.doc.send(new BatchWriteCommand({ RequestItems: { [f.tables.ledger]: batch } }));
      }
    }

    async function deleteAnchor(): Promise<void> {
      await f.doc.send(new DeleteCommand({ TableName: f.tables.ledger, Key: { [TABLES.ledger.partitionKey]: anchorPartition(name), seq: 0 } }));
    }

    const verify = () => verifyAudit({ reader, anchors, signatures });

    return { name, ledger, signer, makeSigner, reader, anchors, kmsCalls: kms.calls, append, deleteFrom, deleteAnchor, verify, writer: () => new LedgerWriter(location) };
  }

  return { ...f, signatures, chain };
}

export type CheckpointFixture = Awaited<ReturnType<typeof checkpointFixture>>;
