/**
 * Client configuration shared by every AWS SDK client the kernel makes. On AWS nothing is set and the SDK's
 * defaults apply; on one machine `AGENTSEC_AWS_ENDPOINT` points every client at the emulator.
 */
export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  maxAttempts?: number;
}

export function awsClientConfig(overrides: Partial<AwsClientConfig> = {}): AwsClientConfig {
  const endpoint = overrides.endpoint ?? process.env.AGENTSEC_AWS_ENDPOINT;
  const region = overrides.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const config: AwsClientConfig = { region, ...overrides };
  if (endpoint) {
    config.endpoint = endpoint;
    // The emulator accepts any credentials; explicit ones keep the SDK from searching the machine for a profile.
    config.credentials ??= {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
    };
  }
  return config;
}
