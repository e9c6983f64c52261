import { SecurityError } from '../errors';
import { Label, dominates, formatLabel } from '../labels';
import { assertNoReadUp } from '../flow/no-read-up';
import type { RecordAddress } from '../messages/envelope-cipher';
import type { OpenedRecord, RecordReader } from './tool';

/*
 * Classified data at rest (DESIGN §3): each record is sealed under its level's key with its label in the encryption
 * context, once for each agent cleared to read it, never shipped in a function bundle. The kernel reads it for a tool:
 * it checks the label before KMS is asked (defence in depth: emulators do not enforce per-key IAM), then KMS checks the
 * context and the caller's IAM.
 */

/** A record as the store holds it: sealed, with the label it claims (bound into the ciphertext's context). */
export interface SealedRecord {
  readonly recordId: string;
  readonly label: Label;
  readonly ciphertext: string;
}

/** Where sealed records are kept (the records table). It fetches; it never opens. */
export interface RecordSource {
  /** The record sealed for `reader` under this id, or undefined when there is none. */
  fetch(recordId: string, reader: string): Promise<SealedRecord | undefined>;
}

/** Opens a sealed record under its id and label (the kernel's EnvelopeCipher). */
export interface RecordOpener {
  openRecord(input: RecordAddress & { readonly ciphertext: string }): Promise<Buffer>;
}

/** What the tool runtime needs to let tools read records: the store and the cipher that opens them. */
export interface RecordAccess {
  readonly source: RecordSource;
  readonly cipher: RecordOpener;
}

export interface RecordReaderProps {
  readonly access: RecordAccess;
  /** The agent reading (the kernel knows it; the model does not choose it). */
  readonly agent: string;
  readonly clearance: Label;
  /** The label the topology gives the tool's result: what the tool returns must not be above it. */
  readonly ceiling: Label;
  /** The tool reading, for error messages. */
  readonly tool: string;
}

/**
 * A reader of records for one tool run by one agent. Each read fetches the sealed record and, before KMS is asked,
 * refuses READ_UP when the agent's clearance does not dominate the record's label (no read up, DESIGN §2) and
 * WRITE_DOWN when the tool's result label does not (its result would carry a label below its content, DESIGN §6).
 *
 * @example
 * const records = recordReader({ access: { source: store, cipher }, agent: 'analyst', clearance, ceiling, tool: 'read_patient_record' });
 * const chart = await records.read('chart/P-1001');
 */
export function recordReader(props: RecordReaderProps): RecordReader {
  return {
    async read(recordId: string): Promise<OpenedRecord | undefined> {
      const sealed = await props.access.source.fetch(recordId, props.agent);
      if (!sealed) return undefined;
      if (sealed.recordId !== recordId) throw new SecurityError('TAMPERED', `record ${recordId} came back as ${sealed.recordId}`);
      assertNoReadUp(props.agent, props.clearance, sealed.label, `record ${recordId}`);
      if (!dominates(props.ceiling, sealed.label)) {
        throw new SecurityError(
          'WRITE_DOWN',
          `${props.tool} results are ${formatLabel(props.ceiling)}, below record ${recordId} (${formatLabel(sealed.label)})`,
        );
      }
      const plaintext = await props.access.cipher.openRecord({ recordId, label: sealed.label, reader: props.agent, ciphertext: sealed.ciphertext });
      return { recordId, label: sealed.label, body: parseBody(recordId, plaintext) };
    },
  };
}

function parseBody(recordId: string, plaintext: Buffer): unknown {
  try {
    return JSON.parse(plaintext.toString('utf8')) as unknown;
  } catch {
    throw new SecurityError('SCHEMA', `record ${recordId} is not JSON`);
  }
}
