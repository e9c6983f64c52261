/**
 * Reads a stack's resources from the emulator's CloudFormation Query API. `@aws-sdk/client-cloudformation` is
 * not a dependency of the project; the emulator routes a request by the service named in the credential
 * scope of its Authorization header and does not verify signatures, so an unsigned request with that scope
 * is enough here (and only here: never against AWS).
 */
export interface StackResource {
  readonly logicalId: string;
  /** Empty when the emulator did not create the resource. */
  readonly type: string;
  readonly physicalId: string;
  readonly status: string;
}

async function query(endpoint: string, region: string, action: string, params: Record<string, string>): Promise<string> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=test/20250101/${region}/cloudformation/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Action: action, Version: '2010-05-15', ...params }).toString(),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${action} failed with HTTP ${res.status}: ${text.slice(0, 500)}`);
  return text;
}

const field = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1] ?? '';

export async function listStackResources(endpoint: string, region: string, stackName: string): Promise<StackResource[]> {
  const xml = await query(endpoint, region, 'ListStackResources', { StackName: stackName });
  return [...xml.matchAll(/<member>([\s\S]*?)<\/member>/g)].map(([, m]) => ({
    logicalId: field(m, 'LogicalResourceId'),
    type: field(m, 'ResourceType'),
    physicalId: field(m, 'PhysicalResourceId'),
    status: field(m, 'ResourceStatus'),
  }));
}

export async function stackStatus(endpoint: string, region: string, stackName: string): Promise<string> {
  return field(await query(endpoint, region, 'DescribeStacks', { StackName: stackName }), 'StackStatus');
}
