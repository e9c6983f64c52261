import * as z from 'zod';
import { COMPARTMENT_NAME, LEVELS } from '../labels';

/**
 * The zod schemas of a label, shared by the topology file (./schema.ts) and the wire (../schemas.ts). This
 * file imports nothing from the topology, so both can build on it without a cycle.
 */

/** A compartment name: the one pattern of labels.ts, with the message every zod schema gives for it. */
export const compartmentNameSchema = z.string().regex(COMPARTMENT_NAME, 'must be an upper-case compartment name');

/** A label object `{level, compartments}` and nothing else; order and membership of compartments are not checked here. */
export const labelObjectSchema = z.object({ level: z.enum(LEVELS), compartments: z.array(compartmentNameSchema) }).strict();
