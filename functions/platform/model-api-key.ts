import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ModelEndpointConfig } from '../kernel/topology/topology';
import { awsClientConfigFrom } from './aws-clients';

/** How long a key read from Secrets Manager is reused before it is read again (a new value is picked up after this). */
export const MODEL_KEY_MAX_AGE_SECONDS = 300;

/** The key sent to an endpoint that names no key at all: the offline model and keyless local servers ignore it. */
export const NO_API_KEY = 'unused';

/** The API key of an endpoint that names a secret could not be read: nothing is sent to the endpoint. */
export class ModelApiKeyUnavailableError extends Error {
  constructor(
    readonly endpoint: string,
    readonly secretName: string,
    readonly reason: string,
  ) {
    super(`the API key of model endpoint "${endpoint}" is unavailable: secret "${secretName}" ${reason}`);
    this.name = 'ModelApiKeyUnavailableError';
  }
}

/** Reads one secret's current value (Powertools' SecretsProvider, cached for `maxAge` seconds). */
export type SecretReader = Pick<SecretsProvider, 'get'>;

export interface ModelApiKeyOptions {
  /** Where `apiKeyEnv` is looked up, and the AWS client configuration. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** The ARN of the endpoint's secret, as the stack passes it (`AGENTSEC_MODEL_SECRETS`). @default none: one machine */
  readonly secretArn?: string;
  /** Reads the secret. @default a Powertools SecretsProvider on a client configured from `env` */
  readonly secrets?: SecretReader;
  /** Where a key that cannot be read is reported. @default a Powertools Logger */
  readonly logger?: Pick<Logger, 'error'>;
}

/**
 * The API key of one model endpoint. On AWS, when the topology names a secret (`apiKeySecret`) and the stack passed its
 * ARN, the key is that secret's value, read through Powertools Parameters and cached; a secret without a value fails
 * with {@link ModelApiKeyUnavailableError} and a log line naming it, and is never replaced by a placeholder. Otherwise
 * (one machine) the key is the variable `apiKeyEnv`, as before.
 *
 * @example
 * const key = new ModelApiKey(topology.modelEndpoint('external'), { secretArn: env.AGENTSEC_MODEL_SECRETS.external });
 * await key.value(); // the secret's value, or ModelApiKeyUnavailableError
 */
export class ModelApiKey {
  /** Where the key comes from: the endpoint's secret, or an environment variable. */
  readonly source: 'secret' | 'environment';
  private readonly endpoint: ModelEndpointConfig;
  private readonly fromEnvironment: string;
  private readonly secretArn?: string;
  private readonly secrets?: SecretReader;
  private readonly logger?: Pick<Logger, 'error'>;
  /** The read in flight: concurrent callers share it rather than each calling Secrets Manager. */
  private reading?: Promise<string>;

  constructor(endpoint: ModelEndpointConfig, options: ModelApiKeyOptions = {}) {
    const env = options.env ?? process.env;
    this.endpoint = endpoint;
    this.fromEnvironment = (endpoint.apiKeyEnv && env[endpoint.apiKeyEnv]) || NO_API_KEY;
    if (options.secretArn !== undefined && endpoint.apiKeySecret === undefined) {
      // The stack passes a secret only where the topology names one: anything else is a mismatched deployment.
      throw new Error(`model endpoint "${endpoint.name}" names no apiKeySecret, but its function was given secret ${options.secretArn}`);
    }
    if (endpoint.apiKeySecret !== undefined && options.secretArn) {
      this.source = 'secret';
      this.secretArn = options.secretArn;
      this.secrets = options.secrets ?? new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient(awsClientConfigFrom(env)) });
      this.logger = options.logger ?? new Logger({ serviceName: 'agentsec-model-client' });
    } else {
      this.source = 'environment';
    }
  }

  /** The key to send; read from the secret (or its cache) when the endpoint has one. */
  value(): Promise<string> {
    if (this.source === 'environment') return Promise.resolve(this.fromEnvironment);
    this.reading ??= this.readSecret().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async readSecret(): Promise<string> {
    const secretName = this.endpoint.apiKeySecret!;
    let value: unknown;
    try {
      value = await this.secrets!.get(this.secretArn!, { maxAge: MODEL_KEY_MAX_AGE_SECONDS });
    } catch (err) {
      throw this.unavailable(secretName, `cannot be read (${err instanceof Error ? err.message : String(err)})`);
    }
    if (typeof value !== 'string') throw this.unavailable(secretName, value === undefined ? 'has no value' : 'is not a string (SecretBinary)');
    const key = value.trim();
    if (key === '') throw this.unavailable(secretName, 'is empty');
    return key;
  }

  private unavailable(secretName: string, reason: string): ModelApiKeyUnavailableError {
    const error = new ModelApiKeyUnavailableError(this.endpoint.name, secretName, reason);
    this.logger!.error(`${error.message}; set it with: aws secretsmanager put-secret-value --secret-id ${secretName} --secret-string <key>`, {
      endpoint: this.endpoint.name,
      secretName,
      secretArn: this.secretArn,
    });
    return error;
  }
}
