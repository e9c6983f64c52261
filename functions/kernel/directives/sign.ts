import { KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { canonicalJson } from '../canonical';
import { SecurityError } from '../errors';
import { describeIssues } from '../schemas';
import { DirectiveClaims, SignedDirective, directiveClaimsSchema } from './claims';

/**
 * Signs claims with the authority key (KMS Sign, ECDSA_SHA_256 over the canonical JSON). Only the signer
 * function calls this; IAM and the key policy let nobody else use the key for signing (DESIGN §3).
 */
export async function signDirective(kms: KMSClient, authorityKeyArn: string, claims: DirectiveClaims): Promise<SignedDirective> {
  const parsed = directiveClaimsSchema.safeParse(claims);
  if (!parsed.success) throw new SecurityError('SCHEMA', `directive claims: ${describeIssues(parsed.error)}`);
  const out = await kms.send(
    new SignCommand({
      KeyId: authorityKeyArn,
      Message: Buffer.from(canonicalJson(parsed.data), 'utf8'),
      MessageType: 'RAW',
      SigningAlgorithm: 'ECDSA_SHA_256',
    }),
  );
  if (!out.Signature) throw new Error('KMS Sign returned no signature');
  return { claims: parsed.data, signature: Buffer.from(out.Signature).toString('base64'), keyId: authorityKeyArn };
}
