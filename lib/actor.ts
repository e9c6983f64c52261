import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * A function that acts under its own name: the name it writes as `from` and reads as `to` in encryption
 * contexts (DESIGN §3) and as `actor` in ledger entries, and the role AWS knows it by.
 */
export interface Actor {
  /** `core`, an effector's name, `api` or `signer`. */
  readonly actorName: string;
  /** The Lambda execution role every permission of this actor is written on. */
  readonly role: iam.IRole;
}
